import { HessianError } from './hessian-error';
import { type SquareMatrix, describe, validateSquareMatrix } from './square-matrix';
import { upperCholeskyOfInverse } from './upper-cholesky-of-inverse';

/** Column order of {@link prepareHessian}: decreasing diag(H) (GPTQ act-order, VPTQ `enable_perm`) or none. */
export type HessianOrder = 'diag-desc' | 'identity';

/** Options of {@link prepareHessian}; every field is optional. */
export interface PrepareHessianOptions {
  /**
   * First damping, added as `damp·I` after normalizing H by its mean diagonal (so relative to the mean
   * diagonal), ≥ 0. This H is the one the quantizer uses, e.g. its diagonal weights k-means. Default 0.01,
   * as VPTQ's `load_hessian`.
   */
  readonly damp?: number;
  /** Column order. Default `'diag-desc'` (ties by lower original index). */
  readonly order?: HessianOrder;
  /**
   * Second damping, added in quantization order as `inverseDamp·mean(diag)·I` to the matrix that is inverted,
   * ≥ 0. Default 0.01, as QLLM's `inv_hessian.py` (total ≈ 2% of the normalized mean diagonal).
   */
  readonly inverseDamp?: number;
  /**
   * How many times to retry a factorization that fails as not positive definite, each time with ten times
   * the second damping (0.01 if it was 0). Default 0: a damped E[xxᵀ] is positive definite by construction,
   * so a failure means the input is wrong (not PSD, corrupted, badly rounded), and silently damping harder
   * would hide that and change the quantization. Enable it for Hessians from sources you cannot fix.
   */
  readonly dampingRetries?: number;
}

/** Result of {@link prepareHessian}. Every matrix is in quantization (permuted) order. */
export interface PreparedHessian {
  /** n. */
  readonly size: number;
  /** `[n, n]` f64 H normalized by its mean diagonal, dead columns fixed, first damping added, permuted. */
  readonly hessian: Float64Array;
  /** `[n]` original column at each quantization position: `perm[p]` = column c. */
  readonly perm: Uint32Array;
  /** `[n]` inverse of `perm`: `invPerm[c]` = position p. */
  readonly invPerm: Uint32Array;
  /**
   * `[n, n]` f64 upper triangular U, row-major, with UᵀU = (hessian + inverseDamp·mean(diag)·I)⁻¹: the factor
   * the column loop uses (spec §3), computed on the permuted matrix.
   */
  readonly inverseCholesky: Float64Array;
  /** Original indices (ascending) of columns whose input was always zero (raw diag = 0); zero their weights. */
  readonly deadColumns: number[];
  /** `[n]` f64 diagonal of `hessian`, in quantization order: the per-column k-means weights (spec §2). */
  readonly diagonal: Float64Array;
  /** mean(diag) of the input, which H was divided by. */
  readonly scale: number;
  /** The first damping used. */
  readonly damp: number;
  /** The second damping actually used (larger than requested after retries). */
  readonly inverseDamp: number;
  /** Number of retries that were needed (0 unless `dampingRetries` > 0). */
  readonly retries: number;
}

/**
 * VPTQ's Hessian pipeline (spec §1.2, §3): normalize H by mean(diag(H)); give dead columns (diag = 0) a unit
 * diagonal and clear their row and column; add `damp·I`; order columns by decreasing diag(H) and permute;
 * add the second damping; then the upper Cholesky factor of the inverse, computed in the permuted order
 * (never by un-permuting a factor, the reference's bug with perm off).
 *
 * @param hessian - `[n, n]` f64 (or f32) symmetric E[xxᵀ], e.g. from {@link finalizeHessian}. Not modified.
 * @param options - See {@link PrepareHessianOptions}.
 * @throws {HessianError} `VPTQ_HESSIAN_NOT_FINITE`, `VPTQ_HESSIAN_NOT_SYMMETRIC`, `VPTQ_HESSIAN_ZERO`, or
 *   `VPTQ_HESSIAN_NOT_PD` (with `pivot` in quantization order and `column` in original order).
 * @throws {TypeError} / {RangeError} for malformed arguments.
 */
export function prepareHessian(
  hessian: SquareMatrix | { readonly data: Float32Array; readonly size: number },
  options: PrepareHessianOptions = {},
): PreparedHessian {
  validateSquareMatrix('prepareHessian', 'hessian', hessian as SquareMatrix, true);
  const damp = options.damp ?? 0.01;
  const inverseDampStart = options.inverseDamp ?? 0.01;
  const order = options.order ?? 'diag-desc';
  const dampingRetries = options.dampingRetries ?? 0;
  checkDamping('damp', damp);
  checkDamping('inverseDamp', inverseDampStart);
  if (order !== 'diag-desc' && order !== 'identity') {
    throw new RangeError(`prepareHessian: order must be 'diag-desc' or 'identity' (got ${describe(order)})`);
  }
  if (!Number.isSafeInteger(dampingRetries) || dampingRetries < 0) {
    throw new RangeError(`prepareHessian: dampingRetries must be a non-negative integer (got ${describe(dampingRetries)})`);
  }

  const size = hessian.size;
  const work = symmetrized(hessian.data, size);

  const rawDiagonal = new Float64Array(size);
  let scale = 0;
  for (let i = 0; i < size; i++) {
    rawDiagonal[i] = work[i * size + i];
    scale += rawDiagonal[i];
  }
  scale /= size;
  if (scale === 0) {
    throw new HessianError('VPTQ_HESSIAN_ZERO', 'prepareHessian: hessian has an all-zero diagonal (no input reached the layer)');
  }
  if (!(scale > 0)) {
    throw new HessianError(
      'VPTQ_HESSIAN_NOT_PD',
      `prepareHessian: hessian has a negative mean diagonal (got ${scale}), so it is not positive semi-definite`,
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
    try {
      const upper = upperCholeskyOfInverse({ data: damped, size });
      return {
        size,
        hessian: permuted,
        perm,
        invPerm,
        inverseCholesky: upper.data,
        deadColumns,
        diagonal,
        scale,
        damp,
        inverseDamp,
        retries,
      };
    } catch (error) {
      if (!(error instanceof HessianError) || error.code !== 'VPTQ_HESSIAN_NOT_PD') throw error;
      if (retries >= dampingRetries) {
        const pivot = error.pivot;
        const column = pivot === undefined ? undefined : perm[pivot];
        throw new HessianError(
          'VPTQ_HESSIAN_NOT_PD',
          `prepareHessian: hessian is not positive definite after damping (pivot at position ${pivot}, original column ${column}, value ${error.value}; damp = ${damp}, inverseDamp = ${inverseDamp}); raise the damping or set dampingRetries`,
          { pivot, column, value: error.value, cause: error },
        );
      }
      inverseDamp = inverseDamp > 0 ? inverseDamp * 10 : 0.01;
    }
  }
}

function checkDamping(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new RangeError(`prepareHessian: ${name} must be a finite number ≥ 0 (got ${describe(value)})`);
  }
}

/** An f64 copy of `data` with (H + Hᵀ)/2, after checking finiteness and symmetry up to rounding. */
function symmetrized(data: Float32Array | Float64Array, size: number): Float64Array {
  let largest = 0;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!Number.isFinite(value)) {
      throw new HessianError(
        'VPTQ_HESSIAN_NOT_FINITE',
        `prepareHessian: hessian must be finite (got ${value} at row ${Math.floor(i / size)}, column ${i % size})`,
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
          `prepareHessian: hessian must be symmetric (got H[${i}, ${j}] = ${upper} and H[${j}, ${i}] = ${lower})`,
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
