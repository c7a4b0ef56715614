import type { PrepareHessianOptions, PreparedHessian } from './prepare-hessian';
import { type HessianInput, prepareHessianSteps } from './prepare-hessian-steps';
import { type SquareMatrix, describe } from './square-matrix';
import { upperCholeskyOfInverse } from './upper-cholesky-of-inverse';

/**
 * {@link prepareHessian} with a pluggable factorization: the same normalization, dead columns, damping,
 * column order and damping retries, with the O(n³) step, the upper Cholesky factor of the inverse, done by
 * `factorize` (for example on the GPU: `upperCholeskyOfInverseGpu` of `@vptq/kernels-webgpu/quantize`).
 * Without `factorize` it runs {@link upperCholeskyOfInverse} and returns exactly what {@link prepareHessian}
 * returns.
 *
 * @param hessian - `[n, n]` f64 (or f32) symmetric E[xxᵀ]. Not modified.
 * @param options - {@link PrepareHessianOptions}, plus `factorize(matrix)`: given the damped, permuted
 *   `[n, n]` f64 symmetric matrix (a fresh copy per call, not used after the promise settles), resolves to the
 *   `[n, n]` f64 row-major upper triangular U with UᵀU = matrix⁻¹ and a positive diagonal. For a matrix that is
 *   not (numerically) positive definite it must reject with an error whose `code` is `'VPTQ_HESSIAN_NOT_PD'`
 *   and whose `pivot` is a position in `matrix` (and `value` the failed pivot), as {@link HessianError} does;
 *   the preparation then retries with more damping as `dampingRetries` allows. Any other rejection is passed on.
 * @throws {HessianError} as {@link prepareHessian}; `VPTQ_HESSIAN_NOT_PD` keeps `factorize`'s error as its cause.
 * @throws {TypeError} / {RangeError} for malformed arguments, or when `factorize` returns something other
 *   than `[n, n]` f64 values with a finite positive diagonal.
 */
export async function prepareHessianAsync(
  hessian: HessianInput,
  options: PrepareHessianOptions & { readonly factorize?: (matrix: SquareMatrix) => Promise<Float64Array> } = {},
): Promise<PreparedHessian> {
  const factorize = options.factorize ?? (async (matrix: SquareMatrix) => upperCholeskyOfInverse(matrix).data);
  if (typeof factorize !== 'function') {
    throw new TypeError(`prepareHessianAsync: factorize must be a function (got ${describe(factorize)})`);
  }
  const steps = prepareHessianSteps('prepareHessianAsync', hessian, options);
  let step = steps.next();
  while (!step.done) {
    let factor: Float64Array;
    try {
      factor = await factorize(step.value);
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(factor);
  }
  return step.value;
}
