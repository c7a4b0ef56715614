import { addBlock } from './add-block';
import { type HessianAccumulator, validateAccumulator } from './hessian-accumulator';

/** Result of {@link finalizeHessian}. */
export interface FinalizedHessian {
  /** `[n, n]` f64 symmetric raw second moment E[xxᵀ] = Σ xxᵀ / tokens (not the covariance). */
  readonly data: Float64Array;
  /** n. */
  readonly size: number;
  /** `[n]` f64 mean input E[x]; the covariance, as QuIP# stores it, is `data − mean·meanᵀ`. */
  readonly mean: Float64Array;
  /** Number of tokens accumulated. */
  readonly tokens: number;
}

/**
 * The layer Hessian proxy E[xxᵀ] (spec §1.2: VPTQ uses the raw second moment, i.e. QuIP#'s covariance with
 * mu·muᵀ added back), plus the mean input. Does not modify the accumulator, so accumulation may continue.
 *
 * @param accumulator - With at least one token.
 * @returns `data` `[n, n]` f64 (symmetric), `size` n, `mean` `[n]` f64, `tokens`.
 * @throws {RangeError} if no token was accumulated.
 */
export function finalizeHessian(accumulator: HessianAccumulator): FinalizedHessian {
  validateAccumulator('finalizeHessian', 'accumulator', accumulator);
  const { columns, tokens } = accumulator;
  if (tokens === 0) throw new RangeError('finalizeHessian: accumulator must hold at least one token (got 0)');
  const data = accumulator.sumOuter.slice();
  const mean = accumulator.sum.slice();
  if (accumulator.pendingTokens > 0) addBlock(accumulator.pending, accumulator.pendingTokens, columns, data, mean);
  for (let i = 0; i < columns; i++) {
    mean[i] /= tokens;
    const row = i * columns;
    for (let j = i; j < columns; j++) {
      const value = data[row + j] / tokens;
      data[row + j] = value;
      data[j * columns + i] = value;
    }
  }
  return { data, size: columns, mean, tokens };
}
