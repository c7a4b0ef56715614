import { type SquareMatrix, validateSquareMatrix } from './square-matrix';

/**
 * A⁻¹ from the Cholesky factor L of A (A = L·Lᵀ), like `torch.cholesky_inverse`: A⁻¹ = L⁻ᵀ·L⁻¹. Only the
 * lower triangle of `lower` is read.
 *
 * @param lower - `[n, n]` f64 lower triangular with a non-zero diagonal, e.g. from {@link choleskyLower}.
 * @returns `[n, n]` f64 symmetric A⁻¹.
 * @throws {RangeError} if a diagonal entry of `lower` is zero or not finite.
 * @throws {TypeError} / {RangeError} for a malformed matrix.
 */
export function choleskyInverse(lower: SquareMatrix): SquareMatrix {
  validateSquareMatrix('choleskyInverse', 'lower', lower);
  const { data: factor, size } = lower;
  for (let i = 0; i < size; i++) {
    const pivot = factor[i * size + i];
    if (pivot === 0 || !Number.isFinite(pivot)) {
      throw new RangeError(`choleskyInverse: lower must have a finite non-zero diagonal (got ${pivot} at ${i})`);
    }
  }
  // Row j of `inverseT` is column j of L⁻¹ (forward substitution of L·y = e_j), stored so that both the
  // substitution and the product below read contiguous memory. It is upper triangular.
  const inverseT = new Float64Array(size * size);
  for (let j = 0; j < size; j++) {
    const row = j * size;
    inverseT[row + j] = 1 / factor[j * size + j];
    for (let k = j + 1; k < size; k++) {
      const factorRow = k * size;
      let s = 0;
      for (let m = j; m < k; m++) s += factor[factorRow + m] * inverseT[row + m];
      inverseT[row + k] = -s / factor[factorRow + k];
    }
  }
  // (A⁻¹)_ij = Σ_k (L⁻¹)_ki (L⁻¹)_kj, over k ≥ max(i, j) where both are non-zero.
  const inverse = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    const rowI = i * size;
    for (let j = i; j < size; j++) {
      const rowJ = j * size;
      let s = 0;
      for (let k = j; k < size; k++) s += inverseT[rowI + k] * inverseT[rowJ + k];
      inverse[rowI + j] = s;
      inverse[rowJ + i] = s;
    }
  }
  return { data: inverse, size };
}
