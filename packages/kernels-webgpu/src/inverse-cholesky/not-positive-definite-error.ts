/**
 * The matrix given to the GPU inverse Cholesky factorization is not positive definite in f32: a pivot was not
 * positive, or the factor overflowed. It has the shape of @vptq/hessian's `HessianError` for the same failure
 * (`code` `'VPTQ_HESSIAN_NOT_PD'`, `pivot`, `value`), so `prepareHessianAsync` retries it with more damping as
 * it does a CPU failure. It is not a `WebGpuError`: the GPU worked, the input is at fault.
 */
export class NotPositiveDefiniteError extends Error {
  override readonly name = 'NotPositiveDefiniteError';
  readonly code = 'VPTQ_HESSIAN_NOT_PD';
  /**
   * Position (row and column of the matrix) where the factorization failed. The factorization runs from the
   * last row up, so the trailing block `[pivot:, pivot:]` is not positive definite (in f32), and the block
   * after it is.
   */
  readonly pivot: number;
  /** The pivot that was not positive, or the non-finite entry of the factor. */
  readonly value: number;

  constructor(message: string, pivot: number, value: number) {
    super(message);
    this.pivot = pivot;
    this.value = value;
  }
}
