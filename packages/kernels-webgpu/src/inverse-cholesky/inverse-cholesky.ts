import { createBufferFilled, createBufferWithData, createStorageBuffer, createUniformBuffer, readBuffer, readBufferWith } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, captureGpuErrors, checkWorkgroups, submitDispatches } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount, describe } from '../validate';
import { choleskyDiagonalWgsl } from './cholesky-diagonal.wgsl';
import { choleskyPanelWgsl } from './cholesky-panel.wgsl';
import { choleskyUpdateWgsl } from './cholesky-update.wgsl';
import { packInverseCholeskyParams } from './inverse-cholesky-params';
import { inverseRowsWgsl } from './inverse-rows.wgsl';
import { inverseUpdateWgsl } from './inverse-update.wgsl';
import { NotPositiveDefiniteError } from './not-positive-definite-error';

const label = 'inverse-cholesky';
const tile = 64;
/** The widest diagonal block: the substitutions keep one row of it in registers and its triangle in 8 KiB. */
const maxBlockSize = 64;
/** The status word of a factorization whose every pivot was positive (its value on entry). */
export const noFailure = 0xffffffff;
/** The kernels index the flat matrix with u32 arithmetic, so n² − 1 must fit in 32 bits. */
const maxSize = 65535;

/** Buffers of {@link createInverseCholeskyDispatch}. */
export interface InverseCholeskyBuffers {
  /**
   * `[n, n]` f32 row-major symmetric positive definite A; only its upper triangle is read. Overwritten: its
   * upper triangle receives R, upper triangular with A = R·Rᵀ (R = U⁻¹); the strict lower triangle is left alone.
   */
  readonly matrix: BufferBinding;
  /** `[n, n]` f32, zero on entry; receives U, upper triangular with UᵀU = A⁻¹ (zeros below the diagonal). */
  readonly inverse: BufferBinding;
  /**
   * `[2]` u32, `[0xffffffff, 0]` on entry; receives the position p of the first pivot that was not positive
   * (the trailing block A[p:, p:] is not positive definite in f32) and the f32 bits of that pivot, or stays
   * as it was. When it changed, `inverse` holds no factor.
   */
  readonly status: BufferBinding;
}

/**
 * Records the upper triangular U with UᵀU = A⁻¹ for a symmetric positive definite A, in f32: the factor
 * GPTQ's and VPTQ's column loop uses (spec §3), the GPU twin of `upperCholeskyOfInverse` of @vptq/hessian.
 * With J the order reversal, the Cholesky factor L of JAJ gives A = R·Rᵀ with R = JLJ upper triangular, so
 * U = R⁻¹ = J·L⁻¹·J: one Cholesky factorization and one triangular inverse (≈ 2n³/3 flops, half of
 * Cholesky → inverse → Cholesky), both blocked (diagonal block, panel by substitution, trailing update in
 * 64 × 64 tiles). J costs nothing: the kernels read and write the flat arrays backwards.
 *
 * @param shape - `size` n ≥ 1; `blockSize` b between 1 and 64 (default 64): columns per diagonal block.
 * @throws {RangeError} when a size is invalid or the n × n f32 matrix exceeds the device's
 *   `maxStorageBufferBindingSize` or `maxBufferSize` (an H100 under Dawn allows n ≤ 23170).
 */
export async function createInverseCholeskyDispatch(
  device: GPUDevice,
  buffers: InverseCholeskyBuffers,
  shape: { readonly size: number; readonly blockSize?: number },
): Promise<KernelDispatch> {
  const fn = 'createInverseCholeskyDispatch';
  const size = assertCount(fn, 'shape.size', shape.size, 1, maxSize);
  const blockSize = assertCount(fn, 'shape.blockSize', shape.blockSize ?? maxBlockSize, 1, maxBlockSize);
  checkInverseCholeskySize(fn, 'shape.size', device.limits, size);
  const [diagonal, panel, update, rows, rowsUpdate] = await Promise.all(
    [
      ['diagonal', choleskyDiagonalWgsl],
      ['panel', choleskyPanelWgsl],
      ['update', choleskyUpdateWgsl],
      ['inverse-rows', inverseRowsWgsl],
      ['inverse-update', inverseUpdateWgsl],
    ].map(([name, code]) => getComputePipeline(device, { label: `${label}/${name}`, code })),
  );
  const tiles = (count: number) => Math.ceil(count / tile);
  const factorSteps: KernelDispatch[] = [];
  const inverseSteps: KernelDispatch[] = [];
  for (let start = 0; start < size; start += blockSize) {
    const end = Math.min(start + blockSize, size);
    const params = createUniformBuffer(device, label, packInverseCholeskyParams(size, start, end - start));
    const below = tiles(size - end);
    factorSteps.push(
      new ComputeStep(device, `${label}/diagonal`, diagonal, [buffers.matrix, buffers.status, params], [1, 1, 1], [params]),
      new ComputeStep(device, `${label}/panel`, panel, [buffers.matrix, params], checkWorkgroups(fn, device, below)),
      new ComputeStep(device, `${label}/update`, update, [buffers.matrix, params], checkWorkgroups(fn, device, below, below)),
    );
    inverseSteps.push(
      new ComputeStep(device, `${label}/inverse-rows`, rows, [buffers.matrix, buffers.inverse, params], checkWorkgroups(fn, device, tiles(end))),
      new ComputeStep(
        device,
        `${label}/inverse-update`,
        rowsUpdate,
        [buffers.matrix, buffers.inverse, params],
        checkWorkgroups(fn, device, tiles(end), below),
      ),
    );
  }
  return new DispatchSequence(label, [...factorSteps, ...inverseSteps]);
}

/**
 * The upper triangular U with UᵀU = A⁻¹ (positive diagonal) of a symmetric positive definite A, computed on the
 * GPU in f32 (see {@link createInverseCholeskyDispatch}): the GPU twin of `upperCholeskyOfInverse` of
 * @vptq/hessian, and the `factorize` step of its `prepareHessianAsync`. A is rounded to f32 (its upper
 * triangle is read); U comes back widened to f64. Its error against the f64 factor grows with the condition
 * number κ(A) (about κ·2⁻²⁴ relative), while the matrix it is the exact factor of stays within about n·2⁻²⁴
 * of A (see the README).
 *
 * @param matrix - `{ data, size }`: A, `[n, n]` f64 row-major, finite.
 * @param options - `blockSize` (1–64, default 64).
 * @returns `[n, n]` f64 U, row-major, zeros below the diagonal.
 * @throws {NotPositiveDefiniteError} (`code` `VPTQ_HESSIAN_NOT_PD`, with `pivot` and `value`) when a pivot is
 *   not positive or U overflows f32.
 * @throws {TypeError} / {RangeError} for a malformed or non-finite matrix, a bad block size, or a matrix larger
 *   than the device's buffer limits.
 * @throws {GpuValidationError} when the GPU runs out of memory or rejects a command.
 */
export async function upperCholeskyOfInverseGpu(
  device: GPUDevice,
  matrix: { readonly data: Float64Array; readonly size: number },
  options: { readonly blockSize?: number } = {},
): Promise<Float64Array> {
  const fn = 'upperCholeskyOfInverseGpu';
  if (!(matrix?.data instanceof Float64Array)) {
    throw new TypeError(`${fn}: matrix.data must be a Float64Array (got ${describe(matrix?.data)})`);
  }
  const size = assertCount(fn, 'matrix.size', matrix.size, 1, maxSize);
  if (matrix.data.length !== size * size) {
    throw new RangeError(`${fn}: matrix.data must hold size × size values (got ${matrix.data.length}, expected ${size} × ${size})`);
  }
  const blockSize = assertCount(fn, 'options.blockSize', options.blockSize ?? maxBlockSize, 1, maxBlockSize);
  checkInverseCholeskySize(fn, 'matrix.size', device.limits, size);
  // The matrix is rounded straight into the mapped upload and U widened straight out of the mapped readback: at
  // n = 11008 each f32 copy the plain path made (a Float32Array of A, the readback's copy) is 485 MB of fresh
  // memory, about a second of host time on the hosts measured.
  const byteLength = size * size * 4;
  const buffers: GPUBuffer[] = [];
  let dispatch: KernelDispatch | undefined;
  try {
    const { factor, status } = await captureGpuErrors(device, label, async () => {
      const matrixBuffer = uploadMatrixF32(device, `${label}/matrix`, matrix.data, size, (index) => {
        throw new RangeError(`${fn}: matrix must be finite in f32 (got ${matrix.data[index]} at row ${Math.floor(index / size)}, column ${index % size})`);
      });
      buffers.push(matrixBuffer);
      const inverse = createStorageBuffer(device, `${label}/inverse`, byteLength);
      buffers.push(inverse);
      const statusBuffer = createBufferWithData(device, `${label}/status`, new Uint32Array([noFailure, 0]));
      buffers.push(statusBuffer);
      dispatch = await createInverseCholeskyDispatch(device, { matrix: matrixBuffer, inverse, status: statusBuffer }, { size, blockSize });
      submitDispatches(device, label, [dispatch]);
      const statusWords = new Uint32Array(await readBuffer(device, statusBuffer, 8));
      // A failed factorization leaves U unfinished: do not read it back.
      if (statusWords[0] !== noFailure) return { factor: undefined, status: statusWords };
      return { factor: await readBufferWith(device, inverse, byteLength, (bytes) => widen(fn, new Float32Array(bytes, 0, size * size), size)), status: statusWords };
    });
    if (factor === undefined) throw pivotError(fn, 'matrix', status);
    return factor;
  } finally {
    dispatch?.destroy();
    for (const buffer of buffers) buffer.destroy();
  }
}

/**
 * An `[n, n]` f64 or f32 matrix rounded to f32 straight into a mapped upload (no n² f32 copy on the host), every
 * entry checked to be finite in f32; at the first that is not, the buffer is destroyed and `nonFinite(index)`,
 * which throws the caller's error, is called.
 */
export function uploadMatrixF32(device: GPUDevice, label: string, data: Float64Array | Float32Array, size: number, nonFinite: (index: number) => never): GPUBuffer {
  return createBufferFilled(device, label, size * size * 4, (bytes) => {
    const values = new Float32Array(bytes, 0, size * size);
    let finite = 0;
    for (let index = 0; index < values.length; index++) {
      const value = Math.fround(data[index]);
      values[index] = value;
      // Infinity − Infinity and NaN − NaN are NaN: one subtraction catches both, and f64 values beyond f32's range.
      finite += value - value;
    }
    if (finite !== 0) nonFinite(values.findIndex((value) => value - value !== 0));
  });
}

/**
 * The {@link NotPositiveDefiniteError} of a factorization whose status (`[pivot, f32 bits of the pivot]`) records
 * a pivot that was not positive; `subject` names the factored matrix in the message.
 */
export function pivotError(fn: string, subject: string, status: Uint32Array): NotPositiveDefiniteError {
  const [pivot, pivotBits] = status;
  const value = new Float32Array(new Uint32Array([pivotBits]).buffer)[0];
  return new NotPositiveDefiniteError(
    `${fn}: ${subject} is not positive definite in f32 (pivot ${value} at position ${pivot}: the trailing block from position ${pivot} on is not positive definite)`,
    pivot,
    value,
  );
}

/** `[n, n]` f32 U widened to f64, after checking that it is finite (an overflow means A needs more damping). */
function widen(fn: string, inverse: Float32Array, size: number): Float64Array {
  const factor = new Float64Array(inverse.length);
  let finite = 0;
  for (let index = 0; index < inverse.length; index++) {
    const value = inverse[index];
    factor[index] = value;
    finite += value - value;
  }
  if (finite !== 0) {
    const index = inverse.findIndex((value) => value - value !== 0);
    const row = Math.floor(index / size);
    throw new NotPositiveDefiniteError(
      `${fn}: matrix is numerically singular in f32 (U[${row}, ${index % size}] = ${inverse[index]}): it needs more damping`,
      row,
      inverse[index],
    );
  }
  return factor;
}

/**
 * Throws unless an `[n, n]` f32 matrix fits one storage binding and one buffer of a device with `limits`.
 *
 * @throws {RangeError} naming the limit and the largest n it allows.
 */
export function checkInverseCholeskySize(
  fn: string,
  name: string,
  limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number },
  size: number,
): void {
  const byteLength = size * size * 4;
  for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
    if (byteLength > limits[limit]) {
      throw new RangeError(
        `${fn}: ${name} must be at most ${Math.floor(Math.sqrt(limits[limit] / 4))} on this device (got ${size}): the ${size} × ${size} f32 matrix takes ${byteLength} bytes, above the device's ${limit} of ${limits[limit]}`,
      );
    }
  }
}
