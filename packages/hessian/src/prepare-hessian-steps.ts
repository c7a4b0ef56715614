import { HessianError } from './hessian-error';
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
  const damp = options.damp ?? 0.01;
  const inverseDampStart = options.inverseDamp ?? 0.01;
  const order = options.order ?? 'diag-desc';
  const dampingRetries = options.dampingRetries ?? 0;
  checkDamping(fn, 'damp', damp);
  checkDamping(fn, 'inverseDamp', inverseDampStart);
  if (order !== 'diag-desc' && order !== 'identity') {
    throw new RangeError(`${fn}: order must be 'diag-desc' or 'identity' (got ${describe(order)})`);
  }
  if (!Number.isSafeInteger(dampingRetries) || dampingRetries < 0) {
    throw new RangeError(`${fn}: dampingRetries must be a non-negative integer (got ${describe(dampingRetries)})`);
  }

  const size = hessian.size;
  const work = symmetrized(fn, hessian.data, size);

  const rawDiagonal = new Float64Array(size);
  let scale = 0;
  for (let i = 0; i < size; i++) {
    rawDiagonal[i] = work[i * size + i];
    scale += rawDiagonal[i];
  }
  scale /= size;
  if (scale === 0) {
    throw new HessianError('VPTQ_HESSIAN_ZERO', `${fn}: hessian has an all-zero diagonal (no input reached the layer)`);
  }
  if (!(scale > 0)) {
    throw new HessianError(
      'VPTQ_HESSIAN_NOT_PD',
      `${fn}: hessian has a negative mean diagonal (got ${scale}), so it is not positive semi-definite`,
      { value: scale },
    );
  }
  for (let i = 0; i < work.length; i++) work[i] /= scale;

  const deadColumns: number[] = [];
  for (let c = 0; c < size; c++) {
    if (rawDiagonal[c] !== 0) continue;
    deadColumns.push(c);
    // A column with E[x_c²] = 0 has x_c ≡ 0, so its row and column are zero in any PSD matrix.
    for (let j = 0; j < size; j++) {
      work[c * size + j] = 0;
      work[j * size + c] = 0;
    }
    work[c * size + c] = 1;
  }
  for (let i = 0; i < size; i++) work[i * size + i] += damp;

  const perm = new Uint32Array(size);
  for (let p = 0; p < size; p++) perm[p] = p;
  // Sorting by the raw diagonal keeps dead columns last (their fixed-up diagonal of 1 would not).
  if (order === 'diag-desc') perm.sort((a, b) => rawDiagonal[b] - rawDiagonal[a] || a - b);
  const invPerm = new Uint32Array(size);
  for (let p = 0; p < size; p++) invPerm[perm[p]] = p;

  const permuted = new Float64Array(size * size);
  const diagonal = new Float64Array(size);
  for (let p = 0; p < size; p++) {
    const from = perm[p] * size;
    const to = p * size;
    for (let q = 0; q < size; q++) permuted[to + q] = work[from + perm[q]];
    diagonal[p] = permuted[to + p];
  }
  let meanDiagonal = 0;
  for (let p = 0; p < size; p++) meanDiagonal += diagonal[p];
  meanDiagonal /= size;

  let inverseDamp = inverseDampStart;
  for (let retries = 0; ; retries++) {
    const damped = permuted.slice();
    for (let p = 0; p < size; p++) damped[p * size + p] += inverseDamp * meanDiagonal;
    let factor: Float64Array;
    try {
      factor = yield { data: damped, size };
    } catch (error) {
      if (!isNotPositiveDefinite(error)) throw error;
      if (retries >= dampingRetries) {
        const pivot = Number.isSafeInteger(error.pivot) && (error.pivot as number) < size ? (error.pivot as number) : undefined;
        const column = pivot === undefined ? undefined : perm[pivot];
        const value = typeof error.value === 'number' ? error.value : undefined;
        throw new HessianError(
          'VPTQ_HESSIAN_NOT_PD',
          `${fn}: hessian is not positive definite after damping (pivot at position ${pivot}, original column ${column}, value ${value}; damp = ${damp}, inverseDamp = ${inverseDamp}); raise the damping or set dampingRetries`,
          { pivot, column, value, cause: error },
        );
      }
      inverseDamp = inverseDamp > 0 ? inverseDamp * 10 : 0.01;
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

function isNotPositiveDefinite(error: unknown): error is { code: string; pivot?: unknown; value?: unknown } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'VPTQ_HESSIAN_NOT_PD';
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

function checkDamping(fn: string, name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new RangeError(`${fn}: ${name} must be a finite number ≥ 0 (got ${describe(value)})`);
  }
}

/** An f64 copy of `data` with (H + Hᵀ)/2, after checking finiteness and symmetry up to rounding. */
function symmetrized(fn: string, data: Float32Array | Float64Array, size: number): Float64Array {
  let largest = 0;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!Number.isFinite(value)) {
      throw new HessianError(
        'VPTQ_HESSIAN_NOT_FINITE',
        `${fn}: hessian must be finite (got ${value} at row ${Math.floor(i / size)}, column ${i % size})`,
        { value },
      );
    }
    const magnitude = Math.abs(value);
    if (magnitude > largest) largest = magnitude;
  }
  // f32 storage rounds each entry independently, so allow a few f32 ulps of the largest entry.
  const slack = largest * 1e-6;
  const work = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    work[i * size + i] = data[i * size + i];
    for (let j = i + 1; j < size; j++) {
      const upper = data[i * size + j];
      const lower = data[j * size + i];
      if (Math.abs(upper - lower) > slack) {
        throw new HessianError(
          'VPTQ_HESSIAN_NOT_SYMMETRIC',
          `${fn}: hessian must be symmetric (got H[${i}, ${j}] = ${upper} and H[${j}, ${i}] = ${lower})`,
          { pivot: i, value: upper - lower },
        );
      }
      const mean = (upper + lower) / 2;
      work[i * size + j] = mean;
      work[j * size + i] = mean;
    }
  }
  return work;
}
