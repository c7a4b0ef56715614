import { type HessianInput, prepareHessianSteps } from './prepare-hessian-steps';
import type { DeviceMatrix } from './device-matrix';
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

/**
 * Result of {@link prepareHessian}. Every matrix is in quantization (permuted) order. The two `[n, n]` matrices
 * are f64 host arrays (`M` = Float64Array, what {@link prepareHessian} and {@link prepareHessianAsync} return) or
 * {@link DeviceMatrix} values kept on a device (`prepareHessianGpu`); the rest is on the host either way.
 */
export interface PreparedHessian<M extends Float64Array | DeviceMatrix = Float64Array> {
  /** n. */
  readonly size: number;
  /** `[n, n]` H normalized by its mean diagonal, dead columns fixed, first damping added, permuted. */
  readonly hessian: M;
  /** `[n]` original column at each quantization position: `perm[p]` = column c. */
  readonly perm: Uint32Array;
  /** `[n]` inverse of `perm`: `invPerm[c]` = position p. */
  readonly invPerm: Uint32Array;
  /**
   * `[n, n]` upper triangular U, row-major, with UᵀU = (hessian + inverseDamp·mean(diag)·I)⁻¹: the factor
   * the column loop uses (spec §3), computed on the permuted matrix.
   */
  readonly inverseCholesky: M;
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
 * (never by un-permuting a factor, the reference's bug with perm off). That last step is O(n³) in f64 on one JS
 * thread (about 1 ns × n³: over a minute at n = 4096, see the README); {@link prepareHessianAsync} runs the same
 * pipeline with a pluggable factorization, e.g. on the GPU.
 *
 * @param hessian - `[n, n]` f64 (or f32) symmetric E[xxᵀ], e.g. from {@link finalizeHessian}. Not modified.
 * @param options - See {@link PrepareHessianOptions}.
 * @throws {HessianError} `VPTQ_HESSIAN_NOT_FINITE`, `VPTQ_HESSIAN_NOT_SYMMETRIC`, `VPTQ_HESSIAN_ZERO`, or
 *   `VPTQ_HESSIAN_NOT_PD` (with `pivot` in quantization order and `column` in original order).
 * @throws {TypeError} / {RangeError} for malformed arguments.
 */
export function prepareHessian(hessian: HessianInput, options: PrepareHessianOptions = {}): PreparedHessian {
  const steps = prepareHessianSteps('prepareHessian', hessian, options);
  let step = steps.next();
  while (!step.done) {
    let factor: Float64Array;
    try {
      factor = upperCholeskyOfInverse(step.value).data;
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(factor);
  }
  return step.value;
}
