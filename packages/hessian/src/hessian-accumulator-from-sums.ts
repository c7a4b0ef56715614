import { accumulateHessian } from './accumulate-hessian';
import { type HessianAccumulator, type MutableHessianAccumulator, createHessianAccumulator } from './hessian-accumulator';
import { describe } from './square-matrix';

/**
 * Sums of a layer's inputs produced by another engine (a GPU accumulator, a file), in the form
 * {@link hessianAccumulatorFromSums} turns into a {@link HessianAccumulator}.
 */
export interface HessianSums {
  /** Input width n (the layer's `in_features`). */
  readonly columns: number;
  /** `[n, n]` f64 Σ xxᵀ over the `tokens` summed tokens; only the upper triangle (j ≥ i) is read. */
  readonly sumOuter: Float64Array;
  /** `[n]` f64 Σ x over the same tokens. */
  readonly sum: Float64Array;
  /** Number of tokens summed into `sumOuter` and `sum` (`pending` not included). */
  readonly tokens: number;
  /**
   * `[pendingTokens, n]` row-major inputs that follow the summed tokens and are not in the sums yet (a partial
   * block of another engine); added as {@link accumulateHessian} adds them. Default none.
   */
  readonly pending?: Float32Array | Float64Array;
}

/**
 * A {@link HessianAccumulator} holding sums that another engine accumulated, so that {@link finalizeHessian},
 * {@link mergeHessians} and {@link accumulateHessian} treat them as their own: the way a GPU (or any other)
 * implementation of the accumulation, the heavy step, hands its result to this package. The sums are copied;
 * `pending` tokens go through the accumulator's 64-token block buffer like any new tokens, so
 * `finalizeHessian` adds them in f64 exactly as it adds the CPU accumulator's last partial block.
 *
 * @param sums - `sumOuter` f64 `[n·n]` (upper triangle read), `sum` f64 `[n]`, `tokens` ≥ 0, optional
 *   `pending` `[pendingTokens, n]` f32 or f64 row-major.
 * @returns a new accumulator of `columns` n with `tokens + pendingTokens` tokens.
 * @throws {TypeError} if an array has the wrong type.
 * @throws {RangeError} if a length does not match `columns`, `tokens` is not a non-negative integer, or a
 *   summed value (upper triangle, `sum`) or a pending input is not finite.
 */
export function hessianAccumulatorFromSums(sums: HessianSums): HessianAccumulator {
  const fn = 'hessianAccumulatorFromSums';
  const columns = sums?.columns;
  if (!Number.isSafeInteger(columns) || columns < 1) {
    throw new RangeError(`${fn}: sums.columns must be a positive integer (got ${describe(columns)})`);
  }
  if (!(sums.sumOuter instanceof Float64Array)) {
    throw new TypeError(`${fn}: sums.sumOuter must be a Float64Array (got ${describe(sums.sumOuter)})`);
  }
  if (sums.sumOuter.length !== columns * columns) {
    throw new RangeError(
      `${fn}: sums.sumOuter must hold columns × columns values (got ${sums.sumOuter.length}, expected ${columns} × ${columns})`,
    );
  }
  if (!(sums.sum instanceof Float64Array)) {
    throw new TypeError(`${fn}: sums.sum must be a Float64Array (got ${describe(sums.sum)})`);
  }
  if (sums.sum.length !== columns) {
    throw new RangeError(`${fn}: sums.sum must hold columns values (got ${sums.sum.length}, expected ${columns})`);
  }
  if (!Number.isSafeInteger(sums.tokens) || sums.tokens < 0) {
    throw new RangeError(`${fn}: sums.tokens must be a non-negative integer (got ${describe(sums.tokens)})`);
  }
  const pending = sums.pending;
  if (pending !== undefined && !(pending instanceof Float32Array || pending instanceof Float64Array)) {
    throw new TypeError(`${fn}: sums.pending must be a Float32Array or Float64Array (got ${describe(pending)})`);
  }
  if (pending !== undefined && pending.length % columns !== 0) {
    throw new RangeError(
      `${fn}: sums.pending must hold whole tokens of columns values (got ${pending.length} values for ${columns} columns)`,
    );
  }
  // A non-finite sum (an input that held NaN or overflowed on the other engine) would poison its row and column
  // of H without a trace; the accumulator's own inputs are checked the same way.
  for (let i = 0; i < columns; i++) {
    if (!Number.isFinite(sums.sum[i])) throw new RangeError(`${fn}: sums.sum must be finite (got ${sums.sum[i]} at column ${i})`);
    const row = i * columns;
    for (let j = i; j < columns; j++) {
      const value = sums.sumOuter[row + j];
      if (!Number.isFinite(value)) throw new RangeError(`${fn}: sums.sumOuter must be finite (got ${value} at row ${i}, column ${j})`);
    }
  }

  const accumulator = createHessianAccumulator(columns) as MutableHessianAccumulator;
  accumulator.sumOuter.set(sums.sumOuter);
  accumulator.sum.set(sums.sum);
  accumulator.tokens = sums.tokens;
  if (pending !== undefined && pending.length > 0) accumulateHessian(accumulator, pending, pending.length / columns);
  return accumulator;
}
