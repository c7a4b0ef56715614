import { addBlock } from './add-block';
import {
  type HessianAccumulator,
  type MutableHessianAccumulator,
  hessianBlockTokens,
  validateAccumulator,
} from './hessian-accumulator';

/**
 * Adds the partial sums of `source` into `target` (in place), e.g. to combine accumulators filled by
 * different workers over disjoint token sets. `source` is not modified. The merged sums equal sequential
 * accumulation up to f64 rounding (the order of additions differs).
 *
 * @param target - Modified; its `columns` must equal `source.columns`.
 * @param source - Read only.
 * @returns `target`.
 * @throws {RangeError} if the widths differ.
 */
export function mergeHessians(target: HessianAccumulator, source: HessianAccumulator): HessianAccumulator {
  validateAccumulator('mergeHessians', 'target', target);
  validateAccumulator('mergeHessians', 'source', source);
  if (target === source) throw new RangeError('mergeHessians: target and source must be different accumulators');
  const columns = target.columns;
  if (source.columns !== columns) {
    throw new RangeError(
      `mergeHessians: target and source must have the same columns (got ${columns} and ${source.columns})`,
    );
  }
  const merged = target as MutableHessianAccumulator;
  for (let i = 0; i < columns; i++) {
    merged.sum[i] += source.sum[i];
    const row = i * columns;
    for (let j = i; j < columns; j++) merged.sumOuter[row + j] += source.sumOuter[row + j];
  }
  // The source's unsummed tokens go through the target's block buffer like any new tokens.
  let filled = merged.pendingTokens;
  for (let t = 0; t < source.pendingTokens; t++) {
    for (let c = 0; c < columns; c++) {
      merged.pending[c * hessianBlockTokens + filled] = source.pending[c * hessianBlockTokens + t];
    }
    filled++;
    if (filled === hessianBlockTokens) {
      addBlock(merged.pending, filled, columns, merged.sumOuter, merged.sum);
      filled = 0;
    }
  }
  merged.pendingTokens = filled;
  merged.tokens += source.tokens;
  return target;
}
