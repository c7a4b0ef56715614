import { choleskyInverse } from './cholesky-inverse';
import { choleskyLower } from './cholesky-lower';
import { HessianError } from './hessian-error';
import type { SquareMatrix } from './square-matrix';

/**
 * The upper Cholesky factor U of H⁻¹ (UᵀU = H⁻¹, positive diagonal), the matrix GPTQ's and VPTQ's column
 * loop uses (spec §3): chol(H) → H⁻¹ through that factor → upper Cholesky of H⁻¹, all in f64. Compute it on
 * the matrix in quantization order; the factor of a permuted matrix is not a permutation of this one.
 *
 * @param hessian - `[n, n]` f64 symmetric positive definite (already damped); only its lower triangle is read.
 * @returns `[n, n]` f64 U, row-major, zeros below the diagonal.
 * @throws {HessianError} `VPTQ_HESSIAN_NOT_PD` / `VPTQ_HESSIAN_NOT_FINITE` from either factorization; the
 *   message says which one failed.
 */
export function upperCholeskyOfInverse(hessian: SquareMatrix): SquareMatrix {
  const lower = choleskyLower(hessian);
  const inverse = choleskyInverse(lower);
  let lowerOfInverse: SquareMatrix;
  try {
    lowerOfInverse = choleskyLower(inverse);
  } catch (error) {
    if (error instanceof HessianError) {
      throw new HessianError(
        error.code,
        `upperCholeskyOfInverse: the inverse is not numerically positive definite (pivot ${error.pivot} = ${error.value}); increase the damping`,
        { pivot: error.pivot, value: error.value, cause: error },
      );
    }
    throw error;
  }
  const { size } = lowerOfInverse;
  const upper = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = i; j < size; j++) upper[i * size + j] = lowerOfInverse.data[j * size + i];
  }
  return { data: upper, size };
}
