import { createUniformBuffer, getPlaceholderBuffer, toBufferBinding } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { defineParams, u32Fields } from '../params-struct';
import { assertArray, assertCount } from '../validate';
import { gemmTnWgsl } from './gemm-tn.wgsl';

const label = 'gemm-tn';
const tile = 64;

/** The `Params` struct of `gemmTnWgsl`, named once. */
export const gemmTnParams = defineParams(label, u32Fields(['m', 'n', 'k', 'lda', 'ldb', 'ldx', 'aOffset', 'bOffset', 'xOffset'] as const));

/**
 * Shape of a {@link createGemmTnDispatch}: `C[m, n] = Σ_k A[aOffset + k·lda + m] · B[bOffset + k·ldb + n]` for
 * m < `m`, n < `n`, k < `k`; offsets and strides in elements.
 */
export interface GemmTnShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Elements between consecutive k in A, ≥ m. */
  readonly lda: number;
  /** Elements between consecutive k in B, ≥ n. */
  readonly ldb: number;
  /** Elements between consecutive n in X (subtract and store), ≥ m. Default `lda`. */
  readonly ldx?: number;
  readonly aOffset?: number;
  readonly bOffset?: number;
  readonly xOffset?: number;
}

/**
 * `'subtract'`: `X[xOffset + n·ldx + m] −= C[m, n]`; `'store'`: `X[xOffset + n·ldx + m] = C[m, n]`; `'quadratic'`:
 * per-tile partial sums of `C[m, n]·A[aOffset + n·lda + m]`.
 */
export type GemmTnEpilogue = 'subtract' | 'store' | 'quadratic';

/** Buffers of {@link createGemmTnDispatch}: f32, X for `'subtract'` and `'store'`, sums (`[gemmTnTiles(shape)]` f32) for `'quadratic'`. */
export interface GemmTnBuffers {
  readonly a: BufferBinding;
  readonly b: BufferBinding;
  readonly x?: BufferBinding;
  readonly sums?: BufferBinding;
}

/** The workgroup grid, 64 × 64 entries of C each: `[ceil(m/64), ceil(n/64)]`; `'quadratic'` writes one sum per tile. */
export function gemmTnGrid(shape: GemmTnShape): [number, number] {
  return [Math.ceil(shape.m / tile), Math.ceil(shape.n / tile)];
}

/**
 * Records `C = Aᵀ·B` (both operands k-major, f32, sums in a fixed order) with a subtract, store or quadratic
 * epilogue (see `gemmTnWgsl`): the column loop's lazy block update, the codebook refit's products with H and the
 * proxy error's `tr(ΔW·H·ΔWᵀ)`.
 *
 * @throws {RangeError} naming the field when a size is not a positive integer, a stride is below its row length,
 *   a buffer is too small for the shape, the epilogue's buffer is missing, or the grid exceeds the device limit.
 */
export async function createGemmTnDispatch(
  device: GPUDevice,
  buffers: GemmTnBuffers,
  shape: GemmTnShape,
  epilogue: GemmTnEpilogue,
): Promise<KernelDispatch> {
  const fn = 'createGemmTnDispatch';
  const m = assertCount(fn, 'shape.m', shape.m);
  const n = assertCount(fn, 'shape.n', shape.n);
  const k = assertCount(fn, 'shape.k', shape.k);
  const lda = assertCount(fn, 'shape.lda', shape.lda, m);
  const ldb = assertCount(fn, 'shape.ldb', shape.ldb, n);
  const ldx = assertCount(fn, 'shape.ldx', shape.ldx ?? lda, m);
  const aOffset = assertCount(fn, 'shape.aOffset', shape.aOffset ?? 0, 0);
  const bOffset = assertCount(fn, 'shape.bOffset', shape.bOffset ?? 0, 0);
  const xOffset = assertCount(fn, 'shape.xOffset', shape.xOffset ?? 0, 0);
  if (epilogue !== 'subtract' && epilogue !== 'store' && epilogue !== 'quadratic') {
    throw new RangeError(`${fn}: epilogue must be 'subtract', 'store' or 'quadratic' (got ${String(epilogue)})`);
  }
  const quadratic = epilogue === 'quadratic';
  // The quadratic epilogue reads A at [n, m], so A must have n rows of k.
  checkExtent(fn, 'buffers.a', buffers.a, aOffset + ((quadratic ? Math.max(k, n) : k) - 1) * lda + m);
  checkExtent(fn, 'buffers.b', buffers.b, bOffset + (k - 1) * ldb + n);
  const [tilesM, tilesN] = gemmTnGrid(shape);
  const grid = checkWorkgroups(fn, device, tilesM, tilesN);
  if (quadratic) {
    if (buffers.sums === undefined) throw new RangeError(`${fn}: buffers.sums is required for the quadratic epilogue`);
    checkExtent(fn, 'buffers.sums', buffers.sums, tilesM * tilesN);
  } else {
    if (buffers.x === undefined) throw new RangeError(`${fn}: buffers.x is required for the ${epilogue} epilogue`);
    checkExtent(fn, 'buffers.x', buffers.x, xOffset + (n - 1) * ldx + m);
  }
  const pipeline = await getComputePipeline(device, { label, code: gemmTnWgsl, constants: { quadratic, store: epilogue === 'store' } });
  const params = createUniformBuffer(device, label, gemmTnParams.pack({ m, n, k, lda, ldb, ldx, aOffset, bOffset, xOffset }));
  const placeholder = getPlaceholderBuffer(device);
  const bindings = [buffers.a, buffers.b, buffers.x ?? placeholder, buffers.sums ?? placeholder, params];
  return new ComputeStep(device, label, pipeline, bindings, grid, [params]);
}

/** Throws unless `binding` holds at least `elements` f32 values. */
function checkExtent(fn: string, name: string, binding: BufferBinding, elements: number): void {
  const { buffer, offset = 0, size } = toBufferBinding(binding);
  const available = Math.floor((size ?? buffer.size - offset) / 4);
  if (available < elements) {
    throw new RangeError(`${fn}: ${name} must hold at least ${elements} f32 values for this shape (got ${available})`);
  }
}

/**
 * One-shot `gemm-tn` (uploads, runs, reads back), for tests and small problems.
 *
 * @param a - A, `aOffset + k·lda` f32 values at least (`max(k, n)` rows for `'quadratic'`).
 * @param b - B, `bOffset + k·ldb` f32 values at least.
 * @param x - X for `'subtract'` and `'store'` (copied, not modified); ignored for `'quadratic'`.
 * @returns `'subtract'`, `'store'`: X after the update; `'quadratic'`: the `[tilesM · tilesN]` f32 partial sums.
 */
export async function gemmTn(
  device: GPUDevice,
  a: Float32Array,
  b: Float32Array,
  x: Float32Array | undefined,
  shape: GemmTnShape,
  epilogue: GemmTnEpilogue,
): Promise<Float32Array> {
  assertArray('gemmTn', 'a', a, Float32Array, a.length);
  assertArray('gemmTn', 'b', b, Float32Array, b.length);
  const [tilesM, tilesN] = gemmTnGrid(shape);
  if (epilogue !== 'quadratic') {
    if (!(x instanceof Float32Array)) throw new TypeError(`gemmTn: x must be a Float32Array for the ${epilogue} epilogue`);
    const [result] = await runKernel(device, label, [a, b], [x], ([aBuffer, bBuffer], [xBuffer]) =>
      createGemmTnDispatch(device, { a: aBuffer, b: bBuffer, x: xBuffer }, shape, epilogue),
    );
    return new Float32Array(result);
  }
  const [sums] = await runKernel(device, label, [a, b], [tilesM * tilesN * 4], ([aBuffer, bBuffer], [sumsBuffer]) =>
    createGemmTnDispatch(device, { a: aBuffer, b: bBuffer, sums: sumsBuffer }, shape, epilogue),
  );
  return new Float32Array(sums);
}
