import { HessianError } from './hessian-error';
import { planHessianPreparation, readPreparationOptions, retryDamping } from './plan-hessian-preparation';
import type { PrepareHessianOptions, PreparedHessian } from './prepare-hessian';
import { type SquareMatrix, describe, validateSquareMatrix } from './square-matrix';

/** What {@link prepareHessian} and `prepareHessianAsync` accept: a square f64 or f32 matrix. */
export type HessianInput = SquareMatrix | { readonly data: Float32Array; readonly size: number };

/**
 * The preparation pipeline of {@link prepareHessian}, written once for the synchronous and the asynchronous
 * driver: it yields each damped matrix to factorize (`[n, n]` f64, permuted), receives U's data through
 * `next(factor)`, or the factorization's error through `throw(error)`, and retries on a not-positive-definite
 * error as `dampingRetries` allows. A rejection counts as not positive definite when its `code` is
 * `'VPTQ_HESSIAN_NOT_PD'` (a {@link HessianError}, or any error of that shape, e.g. from a GPU factorization);
 * its `pivot`, a position in the yielded matrix, is then mapped to the original column.
 */
export function* prepareHessianSteps(
  fn: string,
  hessian: HessianInput,
  options: PrepareHessianOptions,
): Generator<SquareMatrix, PreparedHessian, Float64Array> {
  validateSquareMatrix(fn, 'hessian', hessian as SquareMatrix, true);
  const size = hessian.size;
  const data = hessian.data;
  // Four O(n²) passes, each sequential or blocked, because at n = 4096 (16.7 M entries) a strided pass costs a
  // second of host time: a finiteness scan, a row gather into quantization order, a blocked in-place
  // symmetrization, and the copy that receives the second damping. Every entry gets the arithmetic it always
  // had ((upper + lower) / 2, then / scale), so the result is bit-identical to the straightforward order.
  const rawDiagonal = new Float64Array(size);
  for (let i = 0; i < size; i++) rawDiagonal[i] = data[i * size + i];
  readPreparationOptions(fn, options);
  // Every entry is checked to be finite, not only the diagonal the plan reads.
  const largest = largestMagnitude(fn, data, size);
  const plan = planHessianPreparation(fn, rawDiagonal, options);
  const { scale, perm, invPerm, deadColumns, diagonal, meanDiagonal, damp } = plan;

  const permuted = new Float64Array(size * size);
  for (let p = 0; p < size; p++) {
    const from = perm[p] * size;
    const to = p * size;
    for (let q = 0; q < size; q++) permuted[to + q] = data[from + perm[q]];
  }
  // f32 storage rounds each entry independently, so allow a few f32 ulps of the largest entry.
  symmetrizeInPlace(fn, permuted, size, scale, largest * 1e-6, perm);

  for (const c of deadColumns) {
    // A column with E[x_c²] = 0 has x_c ≡ 0, so its row and column are zero in any PSD matrix.
    const p = invPerm[c];
    for (let q = 0; q < size; q++) {
      permuted[p * size + q] = 0;
      permuted[q * size + p] = 0;
    }
    permuted[p * size + p] = 1;
  }
  for (let p = 0; p < size; p++) permuted[p * size + p] += damp;

  let inverseDamp = plan.inverseDamp;
  for (let retries = 0; ; retries++) {
    const damped = permuted.slice();
    for (let p = 0; p < size; p++) damped[p * size + p] += inverseDamp * meanDiagonal;
    let factor: Float64Array;
    try {
      factor = yield { data: damped, size };
    } catch (error) {
      inverseDamp = retryDamping(fn, plan, error, inverseDamp, retries);
      continue;
    }
    checkFactor(fn, factor, size);
    return {
      size,
      hessian: permuted,
      perm,
      invPerm,
      inverseCholesky: factor,
      deadColumns,
      diagonal,
      scale,
      damp,
      inverseDamp,
      retries,
    };
  }
}

/** A factor from a pluggable factorization must be `[n, n]` f64 with a finite positive diagonal (O(n) check). */
function checkFactor(fn: string, factor: unknown, size: number): asserts factor is Float64Array {
  if (!(factor instanceof Float64Array)) {
    throw new TypeError(`${fn}: the factorization must return a Float64Array (got ${describe(factor)})`);
  }
  if (factor.length !== size * size) {
    throw new RangeError(`${fn}: the factorization must return size × size values (got ${factor.length}, expected ${size} × ${size})`);
  }
  for (let p = 0; p < size; p++) {
    const value = factor[p * size + p];
    if (!(value > 0) || value === Infinity) {
      throw new RangeError(`${fn}: the factorization returned a diagonal that is not finite and positive (got ${value} at position ${p})`);
    }
  }
}

/** The largest |entry| of `data`, after checking that every entry is finite (one sequential pass). */
function largestMagnitude(fn: string, data: Float32Array | Float64Array, size: number): number {
  let largest = 0;
  // value − value is 0 for finite values and NaN for ±Infinity and NaN: one subtraction per entry, no branch taken.
  let finite = 0;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    finite += value - value;
    const magnitude = value < 0 ? -value : value;
    if (magnitude > largest) largest = magnitude;
  }
  if (finite !== 0) {
    const i = data.findIndex((value) => !Number.isFinite(value));
    throw new HessianError(
      'VPTQ_HESSIAN_NOT_FINITE',
      `${fn}: hessian must be finite (got ${data[i]} at row ${Math.floor(i / size)}, column ${i % size})`,
      { value: data[i] },
    );
  }
  return largest;
}

/** Tile side of the blocked symmetrization: two 64 × 64 f64 tiles (64 KiB) stay in L2 while rows and columns meet. */
const tile = 64;

/**
 * Replaces `matrix` (`[n, n]` f64, quantization order, raw values) by (M + Mᵀ)/2 / `scale`, in 64 × 64 tiles so
 * that the column-wise reads stay in cache, after checking symmetry up to `slack`. `perm` maps positions back to
 * original columns for the error message.
 */
function symmetrizeInPlace(fn: string, matrix: Float64Array, size: number, scale: number, slack: number, perm: Uint32Array): void {
  for (let rowStart = 0; rowStart < size; rowStart += tile) {
    const rowEnd = Math.min(rowStart + tile, size);
    for (let columnStart = rowStart; columnStart < size; columnStart += tile) {
      const columnEnd = Math.min(columnStart + tile, size);
      for (let i = rowStart; i < rowEnd; i++) {
        const row = i * size;
        if (columnStart === rowStart) matrix[row + i] /= scale;
        for (let j = Math.max(columnStart, i + 1); j < columnEnd; j++) {
          const upper = matrix[row + j];
          const lower = matrix[j * size + i];
          if (Math.abs(upper - lower) > slack) {
            const [first, second] = perm[i] < perm[j] ? [perm[i], perm[j]] : [perm[j], perm[i]];
            const [a, b] = perm[i] < perm[j] ? [upper, lower] : [lower, upper];
            throw new HessianError(
              'VPTQ_HESSIAN_NOT_SYMMETRIC',
              `${fn}: hessian must be symmetric (got H[${first}, ${second}] = ${a} and H[${second}, ${first}] = ${b})`,
              { pivot: first, value: a - b },
            );
          }
          const mean = (upper + lower) / 2 / scale;
          matrix[row + j] = mean;
          matrix[j * size + i] = mean;
        }
      }
    }
  }
}
