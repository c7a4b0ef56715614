import { HessianError } from './hessian-error';
import { type SquareMatrix, validateSquareMatrix } from './square-matrix';

/**
 * Cholesky factor L (lower triangular, positive diagonal) of a symmetric positive-definite matrix A, so that
 * A = L·Lᵀ. Only the lower triangle of A (j ≤ i) is read. Row-oriented (Cholesky–Banachiewicz), every dot
 * product runs over contiguous f64 memory.
 *
 * @param matrix - `[n, n]` f64 symmetric positive definite.
 * @returns `[n, n]` f64 L, row-major, zeros above the diagonal.
 * @throws {HessianError} `VPTQ_HESSIAN_NOT_FINITE` for NaN/±Infinity in the lower triangle,
 *   `VPTQ_HESSIAN_NOT_PD` (with `pivot` and `value`) at the first non-positive pivot.
 * @throws {TypeError} / {RangeError} for a malformed matrix.
 */
export function choleskyLower(matrix: SquareMatrix): SquareMatrix {
  validateSquareMatrix('choleskyLower', 'matrix', matrix);
  const { data, size } = matrix;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      const value = data[i * size + j];
      if (!Number.isFinite(value)) {
        throw new HessianError(
          'VPTQ_HESSIAN_NOT_FINITE',
          `choleskyLower: matrix must be finite (got ${value} at row ${i}, column ${j})`,
          { pivot: i, value },
        );
      }
    }
  }
  const lower = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    const rowI = i * size;
    for (let j = 0; j <= i; j++) {
      const rowJ = j * size;
      let s = data[rowI + j];
      for (let k = 0; k < j; k++) s -= lower[rowI + k] * lower[rowJ + k];
      if (i === j) {
        if (!(s > 0)) {
          throw new HessianError(
            'VPTQ_HESSIAN_NOT_PD',
            `choleskyLower: matrix is not positive definite (pivot ${i} = ${s})`,
            { pivot: i, value: s },
          );
        }
        lower[rowI + i] = Math.sqrt(s);
      } else {
        lower[rowI + j] = s / lower[rowJ + j];
      }
    }
  }
  return { data: lower, size };
}
