import { HessianError } from './hessian-error';
import type { HessianOrder, PrepareHessianOptions } from './prepare-hessian';
import { describe } from './square-matrix';

/**
 * The O(n) half of the Hessian preparation (normalization scale, column order, dead columns, the diagonal,
 * the dampings), computed from the raw diagonal alone: what every engine of the preparation shares, whether the
 * `[n, n]` matrix lives on the host ({@link prepareHessian}) or on a device (`prepareHessianGpu` of
 * `@vptq/kernels-webgpu/quantize`, which applies it with kernels).
 */
export interface HessianPreparationPlan {
  /** n. */
  readonly size: number;
  /** mean(diag) of the input, which H is divided by. */
  readonly scale: number;
  /** `[n]` original column at each quantization position. */
  readonly perm: Uint32Array;
  /** `[n]` inverse of `perm`. */
  readonly invPerm: Uint32Array;
  /** Original indices (ascending) of the columns whose raw diagonal is 0. */
  readonly deadColumns: number[];
  /** `[n]` f64 diagonal of the prepared H in quantization order: raw/scale + damp (1 + damp for dead columns). */
  readonly diagonal: Float64Array;
  /** mean of `diagonal`: the second damping adds `inverseDamp·meanDiagonal` to the matrix that is factorized. */
  readonly meanDiagonal: number;
  /** The first damping. */
  readonly damp: number;
  /** The second damping of the first attempt. */
  readonly inverseDamp: number;
  /** Factorizations that may be retried with more damping. */
  readonly dampingRetries: number;
  readonly order: HessianOrder;
}

/**
 * Validates `options` and plans the preparation of a Hessian whose raw diagonal (original column order, f64) is
 * `rawDiagonal`: the entries of the prepared H are then `raw[perm[p], perm[q]] / scale`, with dead rows and
 * columns zero and a unit diagonal, plus `damp` on the diagonal.
 *
 * @throws {HessianError} `VPTQ_HESSIAN_NOT_FINITE` for a non-finite diagonal, `VPTQ_HESSIAN_ZERO` for an
 *   all-zero one, `VPTQ_HESSIAN_NOT_PD` for a negative mean.
 * @throws {RangeError} for options out of range.
 */
export function planHessianPreparation(fn: string, rawDiagonal: Float64Array, options: PrepareHessianOptions): HessianPreparationPlan {
  const { damp, inverseDamp, order, dampingRetries } = readPreparationOptions(fn, options);
  const size = rawDiagonal.length;
  let scale = 0;
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(rawDiagonal[i])) {
      throw new HessianError('VPTQ_HESSIAN_NOT_FINITE', `${fn}: hessian must be finite (got ${rawDiagonal[i]} at row ${i}, column ${i})`, {
        value: rawDiagonal[i],
      });
    }
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
  const perm = new Uint32Array(size);
  for (let p = 0; p < size; p++) perm[p] = p;
  // Sorting by the raw diagonal keeps dead columns last (their fixed-up diagonal of 1 would not).
  if (order === 'diag-desc') perm.sort((a, b) => rawDiagonal[b] - rawDiagonal[a] || a - b);
  const invPerm = new Uint32Array(size);
  for (let p = 0; p < size; p++) invPerm[perm[p]] = p;
  const deadColumns: number[] = [];
  for (let c = 0; c < size; c++) if (rawDiagonal[c] === 0) deadColumns.push(c);
  const diagonal = new Float64Array(size);
  let meanDiagonal = 0;
  for (let p = 0; p < size; p++) {
    const raw = rawDiagonal[perm[p]];
    // The same two f64 operations as the host matrix's diagonal gets (divided by the scale, then damped).
    diagonal[p] = (raw === 0 ? 1 : raw / scale) + damp;
    meanDiagonal += diagonal[p];
  }
  meanDiagonal /= size;
  return { size, scale, perm, invPerm, deadColumns, diagonal, meanDiagonal, damp, inverseDamp, dampingRetries, order };
}

/**
 * What to do after a factorization at `inverseDamp` failed with `error` on attempt `retries` (0 = the first):
 * returns the second damping of the next attempt when the error is a `VPTQ_HESSIAN_NOT_PD` one and `plan` allows
 * another retry; otherwise throws — the error itself when it is not about positive definiteness, else a
 * {@link HessianError} `VPTQ_HESSIAN_NOT_PD` that names the pivot in quantization and original order.
 */
export function retryDamping(fn: string, plan: HessianPreparationPlan, error: unknown, inverseDamp: number, retries: number): number {
  if (!isNotPositiveDefinite(error)) throw error;
  if (retries >= plan.dampingRetries) {
    const pivot = Number.isSafeInteger(error.pivot) && (error.pivot as number) < plan.size ? (error.pivot as number) : undefined;
    const column = pivot === undefined ? undefined : plan.perm[pivot];
    const value = typeof error.value === 'number' ? error.value : undefined;
    throw new HessianError(
      'VPTQ_HESSIAN_NOT_PD',
      `${fn}: hessian is not positive definite after damping (pivot at position ${pivot}, original column ${column}, value ${value}; damp = ${plan.damp}, inverseDamp = ${inverseDamp}); raise the damping or set dampingRetries`,
      { pivot, column, value, cause: error },
    );
  }
  return inverseDamp > 0 ? inverseDamp * 10 : 0.01;
}

/**
 * {@link PrepareHessianOptions} with their defaults, checked.
 *
 * @throws {RangeError} for options out of range.
 */
export function readPreparationOptions(fn: string, options: PrepareHessianOptions): Required<PrepareHessianOptions> {
  const damp = options.damp ?? 0.01;
  const inverseDamp = options.inverseDamp ?? 0.01;
  const order = options.order ?? 'diag-desc';
  const dampingRetries = options.dampingRetries ?? 0;
  checkDamping(fn, 'damp', damp);
  checkDamping(fn, 'inverseDamp', inverseDamp);
  if (order !== 'diag-desc' && order !== 'identity') {
    throw new RangeError(`${fn}: order must be 'diag-desc' or 'identity' (got ${describe(order)})`);
  }
  if (!Number.isSafeInteger(dampingRetries) || dampingRetries < 0) {
    throw new RangeError(`${fn}: dampingRetries must be a non-negative integer (got ${describe(dampingRetries)})`);
  }
  return { damp, inverseDamp, order, dampingRetries };
}

function isNotPositiveDefinite(error: unknown): error is { code: string; pivot?: unknown; value?: unknown } {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'VPTQ_HESSIAN_NOT_PD';
}

function checkDamping(fn: string, name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new RangeError(`${fn}: ${name} must be a finite number ≥ 0 (got ${describe(value)})`);
  }
}
