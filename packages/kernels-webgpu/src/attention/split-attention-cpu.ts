import { assertCount } from '../validate';
import { checkAttentionInputs } from './attention-cpu';
import type { AttentionShape } from './attention-cpu';
import { attentionChunkKeys, maxAttentionSplits } from './plan-attention-splits';

/**
 * CPU twin of the split-K attention kernel and its combine, in f64: for each query and head the visible keys
 * are cut into spans of `ceil(visible / splits)` keys rounded up to whole chunks of 64 (as the kernel does at run
 * time), each span yields its own maximum m, weight sum l and unnormalized output o, and the spans are merged as
 * `Σ o·exp(m − M) / Σ l·exp(m − M)`. Mathematically equal to `attentionCpu`; its tests check that the spans
 * cover every visible key exactly once.
 *
 * @param query - `[tokens, heads, headDim]` f32.
 * @param keys - `[capacity, kvHeads, headDim]` f32 with capacity ≥ position + tokens.
 * @param values - same shape as keys.
 * @param splits - 1 … 64.
 * @returns `[tokens, heads, headDim]` f32.
 * @throws {RangeError} when a length does not match the shape or splits is out of range.
 */
export function splitAttentionCpu(query: Float32Array, keys: Float32Array, values: Float32Array, shape: AttentionShape, splits: number): Float32Array {
  const fn = 'splitAttentionCpu';
  const { tokens, heads, kvHeads, headDim, position, scale, window } = checkAttentionInputs(fn, query, keys, values, shape);
  const rowLength = kvHeads * headDim;
  assertCount(fn, 'splits', splits, 1, maxAttentionSplits);
  const output = new Float32Array(tokens * heads * headDim);
  const group = heads / kvHeads;
  for (let t = 0; t < tokens; t++) {
    const keyCount = position + t + 1;
    const firstKey = window === 0 ? 0 : Math.max(0, keyCount - window);
    const visible = keyCount - firstKey;
    const span = Math.ceil(Math.ceil(visible / splits) / attentionChunkKeys) * attentionChunkKeys;
    for (let h = 0; h < heads; h++) {
      const kvOffset = Math.floor(h / group) * headDim;
      const queryBase = (t * heads + h) * headDim;
      const parts: { maximum: number; total: number; sums: Float64Array }[] = [];
      for (let start = firstKey; start < keyCount; start += span) {
        const end = Math.min(keyCount, start + span);
        const scores = new Float64Array(end - start);
        let maximum = -Infinity;
        for (let k = start; k < end; k++) {
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += query[queryBase + d] * keys[k * rowLength + kvOffset + d];
          scores[k - start] = dot * scale;
          maximum = Math.max(maximum, scores[k - start]);
        }
        let total = 0;
        const sums = new Float64Array(headDim);
        for (let k = start; k < end; k++) {
          const weight = Math.exp(scores[k - start] - maximum);
          total += weight;
          for (let d = 0; d < headDim; d++) sums[d] += weight * values[k * rowLength + kvOffset + d];
        }
        parts.push({ maximum, total, sums });
      }
      const overall = Math.max(...parts.map((part) => part.maximum));
      let total = 0;
      for (const part of parts) total += part.total * Math.exp(part.maximum - overall);
      for (let d = 0; d < headDim; d++) {
        let sum = 0;
        for (const part of parts) sum += part.sums[d] * Math.exp(part.maximum - overall);
        output[queryBase + d] = sum / total;
      }
    }
  }
  return output;
}
