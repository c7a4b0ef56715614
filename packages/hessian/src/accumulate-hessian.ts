import { addBlock } from './add-block';
import {
  type HessianAccumulator,
  type MutableHessianAccumulator,
  hessianBlockTokens,
  validateAccumulator,
} from './hessian-accumulator';
import { describe } from './square-matrix';

/**
 * Adds a batch of layer inputs to the running sums Σ xxᵀ, Σ x and the token count (all f64), in place.
 *
 * @param accumulator - From {@link createHessianAccumulator}; modified.
 * @param x - `[tokens, n]` row-major inputs (f32, or f64), n = `accumulator.columns`. Not retained.
 * @param tokens - Number of rows of `x` to add, ≥ 0.
 * @returns `accumulator`.
 * @throws {RangeError} if `x` does not hold `tokens × n` values or holds a non-finite value.
 */
export function accumulateHessian(
  accumulator: HessianAccumulator,
  x: Float32Array | Float64Array,
  tokens: number,
): HessianAccumulator {
  validateAccumulator('accumulateHessian', 'accumulator', accumulator);
  const columns = accumulator.columns;
  if (!(x instanceof Float32Array || x instanceof Float64Array)) {
    throw new TypeError(`accumulateHessian: x must be a Float32Array or Float64Array (got ${describe(x)})`);
  }
  if (!Number.isSafeInteger(tokens) || tokens < 0) {
    throw new RangeError(`accumulateHessian: tokens must be a non-negative integer (got ${describe(tokens)})`);
  }
  if (x.length !== tokens * columns) {
    throw new RangeError(
      `accumulateHessian: x must hold tokens × columns values (got ${x.length}, expected ${tokens} × ${columns})`,
    );
  }
  // One bad activation would silently poison every entry of its row and column.
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(
        `accumulateHessian: x must be finite (got ${x[i]} at token ${Math.floor(i / columns)}, column ${i % columns})`,
      );
    }
  }
  const target = accumulator as MutableHessianAccumulator;
  const { pending, sumOuter, sum } = target;
  let filled = target.pendingTokens;
  for (let t = 0; t < tokens; t++) {
    const row = t * columns;
    for (let c = 0; c < columns; c++) pending[c * hessianBlockTokens + filled] = x[row + c];
    filled++;
    if (filled === hessianBlockTokens) {
      addBlock(pending, filled, columns, sumOuter, sum);
      filled = 0;
    }
  }
  target.pendingTokens = filled;
  target.tokens += tokens;
  return accumulator;
}
