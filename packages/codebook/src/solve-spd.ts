/**
 * In-place lower Cholesky factor of the `[n, n]` f64 row-major symmetric positive definite `matrix` (only the
 * lower triangle is read; the factor L with L·Lᵀ = matrix overwrites it).
 *
 * @returns false when a pivot is not positive (the matrix is not numerically positive definite); the matrix is
 *   then partly overwritten.
 */
export function choleskyFactor(matrix: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let pivot = matrix[rowJ + j];
    for (let k = 0; k < j; k++) pivot -= matrix[rowJ + k] * matrix[rowJ + k];
    if (!(pivot > 0)) return false;
    const diagonal = Math.sqrt(pivot);
    matrix[rowJ + j] = diagonal;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = matrix[rowI + j];
      for (let k = 0; k < j; k++) sum -= matrix[rowI + k] * matrix[rowJ + k];
      matrix[rowI + j] = sum / diagonal;
    }
  }
  return true;
}

/** Solves L·Lᵀ·x = b in place (`b` becomes x) with a factor from {@link choleskyFactor}. */
export function choleskySolve(factor: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= factor[row + k] * b[k];
    b[i] = sum / factor[row + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < n; k++) sum -= factor[k * n + i] * b[k];
    b[i] = sum / factor[i * n + i];
  }
}

/** Settings of {@link conjugateGradient}. */
export interface ConjugateGradientOptions {
  /** Most iterations. */
  readonly maxIterations: number;
  /** Stop once ‖b − A·x‖ ≤ tolerance · ‖b − A·x₀‖. */
  readonly tolerance: number;
}

/**
 * Jacobi-preconditioned conjugate gradients for the SPD system A·x = b, started from the given `x` and
 * updated in place. Each step lowers the quadratic ½xᵀAx − bᵀx, so stopping early never ends above the start.
 *
 * @param apply - writes A·p into `out` (length n).
 * @param diagonal - `[n]` f64 positive diagonal of A (the preconditioner).
 * @returns the number of iterations run.
 */
export function conjugateGradient(
  apply: (p: Float64Array, out: Float64Array) => void,
  diagonal: Float64Array,
  b: Float64Array,
  x: Float64Array,
  options: ConjugateGradientOptions,
): number {
  const n = b.length;
  const residual = new Float64Array(n);
  const direction = new Float64Array(n);
  const product = new Float64Array(n);
  const preconditioned = new Float64Array(n);
  apply(x, product);
  let initialNorm = 0;
  for (let i = 0; i < n; i++) {
    residual[i] = b[i] - product[i];
    initialNorm += residual[i] * residual[i];
  }
  const stop = options.tolerance * options.tolerance * initialNorm;
  if (initialNorm === 0) return 0;
  let rho = 0;
  for (let i = 0; i < n; i++) {
    preconditioned[i] = residual[i] / diagonal[i];
    direction[i] = preconditioned[i];
    rho += residual[i] * preconditioned[i];
  }
  for (let iteration = 1; iteration <= options.maxIterations; iteration++) {
    apply(direction, product);
    let curvature = 0;
    for (let i = 0; i < n; i++) curvature += direction[i] * product[i];
    if (!(curvature > 0)) return iteration - 1;
    const step = rho / curvature;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      x[i] += step * direction[i];
      residual[i] -= step * product[i];
      norm += residual[i] * residual[i];
    }
    if (norm <= stop) return iteration;
    let nextRho = 0;
    for (let i = 0; i < n; i++) {
      preconditioned[i] = residual[i] / diagonal[i];
      nextRho += residual[i] * preconditioned[i];
    }
    const beta = nextRho / rho;
    rho = nextRho;
    for (let i = 0; i < n; i++) direction[i] = preconditioned[i] + beta * direction[i];
  }
  return options.maxIterations;
}
