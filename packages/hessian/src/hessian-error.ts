/** Stable codes of {@link HessianError}. */
export type HessianErrorCode =
  /** A Cholesky pivot was not positive: the matrix is not positive definite (after damping). */
  | 'VPTQ_HESSIAN_NOT_PD'
  /** The matrix holds NaN or ±Infinity. */
  | 'VPTQ_HESSIAN_NOT_FINITE'
  /** Every diagonal entry is zero (no input ever reached the layer), so nothing can be normalized. */
  | 'VPTQ_HESSIAN_ZERO'
  /** H and Hᵀ differ by more than rounding. */
  | 'VPTQ_HESSIAN_NOT_SYMMETRIC';

/**
 * A failure of the Hessian pipeline that a caller may handle (for example by raising the damping). Branch on
 * `code`, which survives duplicate installs of this package.
 */
export class HessianError extends Error {
  override readonly name = 'HessianError';
  readonly code: HessianErrorCode;
  /** Position (row/column index in the factorized matrix) where the failure was found, if any. */
  readonly pivot: number | undefined;
  /** The offending value: the non-positive pivot or the non-finite entry, if any. */
  readonly value: number | undefined;
  /** The original (unpermuted) column of `pivot`, when the matrix was permuted. */
  readonly column: number | undefined;

  constructor(
    code: HessianErrorCode,
    message: string,
    details: { pivot?: number; value?: number; column?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.pivot = details.pivot;
    this.value = details.value;
    this.column = details.column;
  }
}
