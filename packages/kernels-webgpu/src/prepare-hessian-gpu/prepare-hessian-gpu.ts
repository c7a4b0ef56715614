import { HessianError, planHessianPreparation, retryDamping } from '@vptq/hessian';
import type { HessianPreparationPlan, PrepareHessianOptions, PreparedHessian } from '@vptq/hessian';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { captureGpuErrors, submitDispatches } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { allFinite, createFirstNonFiniteDispatch, createNonFiniteResult, createPermuteHessianDispatch, deadColumn } from '../device-matrix/device-matrix';
import { GpuMatrix, gpuMatrixBuffer } from '../device-matrix/gpu-matrix';
import type { GpuHessian } from '../hessian-accumulator/hessian-accumulator';
import { checkInverseCholeskySize, createInverseCholeskyDispatch, noFailure, pivotError, uploadMatrixF32 } from '../inverse-cholesky/inverse-cholesky';
import { NotPositiveDefiniteError } from '../inverse-cholesky/not-positive-definite-error';
import { describe } from '../validate';

const label = 'prepare-hessian-gpu';

/** A host E[xxᵀ] for {@link prepareHessianGpu}: `[n, n]` f64 or f32 row-major (e.g. `finalizeHessian`'s). */
export interface HostHessian {
  readonly data: Float64Array | Float32Array;
  readonly size: number;
}

/**
 * `prepareHessian` of @vptq/hessian with every n² step on the GPU and nothing n² on the host: the O(n) plan
 * (`planHessianPreparation`: scale, column order, dead columns, diagonal, dampings) on the host, then kernels
 * gather the permuted, normalized, damped H and the matrix to factorize from the raw E[xxᵀ], the inverse
 * Cholesky factor U of (H + inverseDamp·mean(diag)·I)⁻¹ is computed and checked on the device, and both stay
 * there as {@link GpuMatrix} values that the GPU column loop and refit read in place. Retries with more damping
 * as `dampingRetries` allows, like `prepareHessian`.
 *
 * Arithmetic: f32 throughout (entry (p, q) = raw·f32(1/scale), the diagonal the host's f64 value rounded once),
 * against the host path's f64 preparation rounded to f32 at upload: entries differ by an f32 rounding or two.
 * Only the upper triangle of the raw matrix is read (E[xxᵀ] is symmetric by construction; `prepareHessian`
 * checks symmetry, this does not).
 *
 * @param hessian - the raw E[xxᵀ], original column order: a {@link GpuHessian} (`GpuHessianAccumulator.finalize`,
 *   not modified, still the caller's to destroy) or a host matrix, uploaded as f32.
 * @param options - as `prepareHessian`.
 * @returns the prepared Hessian with `hessian` and `inverseCholesky` on the device; the caller destroys them.
 * @throws {HessianError} as `prepareHessian` (`VPTQ_HESSIAN_NOT_FINITE` for a host matrix's non-finite entry,
 *   `VPTQ_HESSIAN_ZERO`, `VPTQ_HESSIAN_NOT_PD` with `pivot` and `column` once the retries are spent).
 * @throws {RangeError} for options out of range or a matrix beyond the device's buffer limits.
 * @throws {GpuValidationError} `VPTQ_GPU_OUT_OF_MEMORY` when the buffers (four n² f32 at the peak) do not fit.
 */
export async function prepareHessianGpu(
  device: GPUDevice,
  hessian: GpuHessian | HostHessian,
  options: PrepareHessianOptions = {},
): Promise<PreparedHessian<GpuMatrix>> {
  const fn = 'prepareHessianGpu';
  const onDevice = isGpuHessian(hessian);
  const size = hessian.size;
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`${fn}: hessian.size must be a positive integer (got ${describe(size)})`);
  checkInverseCholeskySize(fn, 'hessian.size', device.limits, size);
  let rawDiagonal: Float64Array;
  if (onDevice) {
    gpuMatrixBuffer(fn, 'hessian.matrix', hessian.matrix, device, size);
    rawDiagonal = hessian.diagonal;
  } else {
    const data = hessian.data;
    if (!(data instanceof Float64Array || data instanceof Float32Array) || data.length !== size * size) {
      throw new TypeError(`${fn}: hessian.data must be a Float64Array or Float32Array of size × size values (got ${describe(data)})`);
    }
    rawDiagonal = new Float64Array(size);
    for (let i = 0; i < size; i++) rawDiagonal[i] = data[i * size + i];
  }
  const plan = planHessianPreparation(fn, rawDiagonal, options);
  const owned: { destroy(): void }[] = [];
  const results: GPUBuffer[] = [];
  try {
    return await captureGpuErrors(device, label, async () => {
      const source = onDevice ? hessian.matrix.buffer : uploadHost(device, fn, hessian as HostHessian);
      if (!onDevice) owned.push(source);
      const order = createBufferWithData(device, `${label}/order`, orderOf(plan));
      owned.push(order);
      const prepared = createStorageBuffer(device, `${label}/hessian`, size * size * 4);
      results.push(prepared);
      const diagonal = createBufferWithData(device, `${label}/diagonal`, Float32Array.from(plan.diagonal));
      owned.push(diagonal);
      const gather = (destination: GPUBuffer, values: GPUBuffer) =>
        createPermuteHessianDispatch(device, { source, order, diagonal: values, destination }, { size, scale: 1 / plan.scale });
      const permute = await gather(prepared, diagonal);
      owned.push(permute);
      submitDispatches(device, label, [permute]);
      let inverseDamp = plan.inverseDamp;
      for (let retries = 0; ; retries++) {
        let factor: GPUBuffer | undefined;
        try {
          factor = await factorize(device, fn, plan, inverseDamp, gather);
        } catch (error) {
          inverseDamp = retryDamping(fn, plan, error, inverseDamp, retries);
          continue;
        }
        results.push(factor);
        const { perm, invPerm, deadColumns, scale, damp } = plan;
        return {
          size,
          hessian: new GpuMatrix(device, prepared, size),
          perm,
          invPerm,
          inverseCholesky: new GpuMatrix(device, factor, size),
          deadColumns,
          diagonal: plan.diagonal,
          scale,
          damp,
          inverseDamp,
          retries,
        };
      }
    });
  } catch (error) {
    for (const buffer of results) buffer.destroy();
    throw error;
  } finally {
    for (const resource of owned) resource.destroy();
  }
}

/**
 * One attempt: the damped matrix gathered into a scratch buffer, factorized, U checked to be finite.
 *
 * @returns U (`[n, n]` f32 in a new buffer).
 * @throws {NotPositiveDefiniteError} when a pivot was not positive or U overflowed f32.
 */
async function factorize(
  device: GPUDevice,
  fn: string,
  plan: HessianPreparationPlan,
  inverseDamp: number,
  gather: (destination: GPUBuffer, values: GPUBuffer) => Promise<KernelDispatch>,
): Promise<GPUBuffer> {
  const { size } = plan;
  const owned: { destroy(): void }[] = [];
  const dampedDiagonal = Float32Array.from(plan.diagonal, (value) => value + inverseDamp * plan.meanDiagonal);
  const inverse = createStorageBuffer(device, `${label}/inverse`, size * size * 4);
  try {
    const values = createBufferWithData(device, `${label}/damped-diagonal`, dampedDiagonal);
    const matrix = createStorageBuffer(device, `${label}/matrix`, size * size * 4);
    const status = createBufferWithData(device, `${label}/status`, new Uint32Array([noFailure, 0]));
    const flag = createNonFiniteResult(device, `${label}/flag`);
    owned.push(values, matrix, status, flag);
    const steps = [
      await gather(matrix, values),
      await createInverseCholeskyDispatch(device, { matrix, inverse, status }, { size }),
      await createFirstNonFiniteDispatch(device, { values: inverse, result: flag }, size * size),
    ];
    owned.push(...steps);
    submitDispatches(device, label, steps);
    const [statusWords, flagWords] = await Promise.all([readBuffer(device, status, 8), readBuffer(device, flag, 4)]);
    const pivot = new Uint32Array(statusWords);
    if (pivot[0] !== noFailure) throw pivotError(fn, 'the damped hessian', pivot);
    const first = new Uint32Array(flagWords)[0];
    if (first !== allFinite) {
      const row = Math.floor(first / size);
      throw new NotPositiveDefiniteError(`${fn}: the damped hessian is numerically singular in f32 (U[${row}, ${first % size}] is not finite): it needs more damping`, row, Number.NaN);
    }
    return inverse;
  } catch (error) {
    inverse.destroy();
    throw error;
  } finally {
    for (const resource of owned) resource.destroy();
  }
}

/** `[n]` u32 perm[p], with {@link deadColumn} at the positions of dead columns. */
function orderOf(plan: HessianPreparationPlan): Uint32Array {
  const order = Uint32Array.from(plan.perm);
  for (const column of plan.deadColumns) order[plan.invPerm[column]] = deadColumn;
  return order;
}

/** A host matrix rounded into an f32 upload, every entry checked to be finite in f32. */
function uploadHost(device: GPUDevice, fn: string, { data, size }: HostHessian): GPUBuffer {
  return uploadMatrixF32(device, `${label}/source`, data, size, (index) => {
    throw new HessianError('VPTQ_HESSIAN_NOT_FINITE', `${fn}: hessian must be finite in f32 (got ${data[index]} at row ${Math.floor(index / size)}, column ${index % size})`, {
      value: data[index],
    });
  });
}

function isGpuHessian(value: GpuHessian | HostHessian): value is GpuHessian {
  return typeof value === 'object' && value !== null && 'matrix' in value;
}
