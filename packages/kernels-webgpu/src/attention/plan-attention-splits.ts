import { assertCount } from '../validate';

/** The most splits {@link planAttentionSplits} picks (the combine walks them serially per invocation). */
export const maxAttentionSplits = 64;

/** Keys per chunk of the attention kernel (its workgroup size): a split covers whole chunks. */
export const attentionChunkKeys = 64;

/**
 * How many splits of the KV cache the attention kernel uses (see `attentionWgsl`): enough (head, token, split)
 * workgroups to fill a large GPU, `targetWorkgroups` (default 512, about 4 per SM on a 132-SM H100, so each SM
 * has 8 warps to hide memory latency with), but never more splits than the cache has chunks of
 * {@link attentionChunkKeys} keys, nor more than {@link maxAttentionSplits}. Prefill windows already have
 * `heads · tokens` ≥ the target and get 1 (no combine dispatch). One decoded token of a 32-head model gets 16.
 * The kernel shortens the spans to the visible keys at run time, so early decode steps use fewer splits.
 *
 * @param shape.capacity - rows of the KV cache (positions it can hold).
 * @throws {RangeError} when a size is not a positive integer.
 */
export function planAttentionSplits(
  shape: { readonly tokens: number; readonly heads: number; readonly capacity: number },
  options: { readonly targetWorkgroups?: number } = {},
): number {
  const fn = 'planAttentionSplits';
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const capacity = assertCount(fn, 'shape.capacity', shape.capacity);
  const target = assertCount(fn, 'options.targetWorkgroups', options.targetWorkgroups ?? 512);
  const pairs = tokens * heads;
  if (pairs >= target) return 1;
  return Math.max(1, Math.min(Math.ceil(target / pairs), Math.ceil(capacity / attentionChunkKeys), maxAttentionSplits));
}
