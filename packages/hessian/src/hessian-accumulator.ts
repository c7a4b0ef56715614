import { describe } from './square-matrix';

/**
 * Streaming partial sums of a layer's inputs x (one row per token): Σ xxᵀ, Σ x and the token count, all in
 * f64. Plain data (typed arrays and numbers), so partial accumulators can be posted between workers and
 * combined with {@link mergeHessians}. Treat it as opaque and change it only through {@link accumulateHessian}
 * and {@link mergeHessians}.
 *
 * Tokens are buffered in blocks of {@link hessianBlockTokens} and summed a block at a time, so the result is
 * bit-identical however the same token stream is split into batches.
 */
export interface HessianAccumulator {
  /** Input width n (the layer's `in_features`). */
  readonly columns: number;
  /** `[n, n]` f64 Σ xxᵀ over the flushed blocks; only the upper triangle (j ≥ i) is maintained. */
  readonly sumOuter: Float64Array;
  /** `[n]` f64 Σ x over the flushed blocks. */
  readonly sum: Float64Array;
  /** `[n, hessianBlockTokens]` f64 tokens not yet summed, column-major (one column's values are contiguous). */
  readonly pending: Float64Array;
  /** Number of tokens in `pending`. */
  readonly pendingTokens: number;
  /** Number of tokens accumulated, pending ones included. */
  readonly tokens: number;
}

/** Number of tokens summed together in one block of {@link HessianAccumulator}. */
export const hessianBlockTokens = 64;

/** The mutable view used inside the package. */
export interface MutableHessianAccumulator extends HessianAccumulator {
  pendingTokens: number;
  tokens: number;
}

/**
 * An empty accumulator for inputs of `columns` features. Memory: n² f64 for Σ xxᵀ plus n·64 f64 for the
 * token block.
 *
 * @param columns - Input width n ≥ 1.
 * @throws {RangeError} if `columns` is not a positive integer.
 */
export function createHessianAccumulator(columns: number): HessianAccumulator {
  if (!Number.isSafeInteger(columns) || columns < 1) {
    throw new RangeError(`createHessianAccumulator: columns must be a positive integer (got ${describe(columns)})`);
  }
  const accumulator: MutableHessianAccumulator = {
    columns,
    sumOuter: new Float64Array(columns * columns),
    sum: new Float64Array(columns),
    pending: new Float64Array(columns * hessianBlockTokens),
    pendingTokens: 0,
    tokens: 0,
  };
  return accumulator;
}

/** Throws unless `accumulator` is shaped like one made by {@link createHessianAccumulator}. */
export function validateAccumulator(fn: string, name: string, accumulator: HessianAccumulator): void {
  const columns = accumulator?.columns;
  if (!Number.isSafeInteger(columns) || columns < 1) {
    throw new TypeError(`${fn}: ${name} must be a HessianAccumulator (got columns = ${describe(columns)})`);
  }
  if (
    !(accumulator.sumOuter instanceof Float64Array) ||
    accumulator.sumOuter.length !== columns * columns ||
    !(accumulator.sum instanceof Float64Array) ||
    accumulator.sum.length !== columns ||
    !(accumulator.pending instanceof Float64Array) ||
    accumulator.pending.length !== columns * hessianBlockTokens ||
    !Number.isSafeInteger(accumulator.pendingTokens) ||
    accumulator.pendingTokens < 0 ||
    accumulator.pendingTokens >= hessianBlockTokens ||
    !Number.isSafeInteger(accumulator.tokens) ||
    accumulator.tokens < accumulator.pendingTokens
  ) {
    throw new TypeError(`${fn}: ${name} must be a HessianAccumulator with consistent arrays for ${columns} columns`);
  }
}
