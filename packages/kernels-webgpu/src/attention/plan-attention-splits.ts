import { assertCount } from '../validate';

/** The most splits {@link planAttentionSplits} picks (the combine walks them serially per invocation). */
export const maxAttentionSplits = 64;

/** Keys per chunk of the attention kernel (its workgroup size): a split covers whole chunks. */
export const attentionChunkKeys = 64;

/**
 * How many splits of the KV cache the attention kernel uses (see `attentionWgsl`): enough (head, query, split)
 * workgroups to fill a large GPU, `targetWorkgroups` (default 512, about 4 per SM on a 132-SM H100, so each SM
 * has 8 warps to hide memory latency with), but at most one split per `minKeysPerSplit` cache rows (default
 * 256, four chunks of {@link attentionChunkKeys}) and at most {@link maxAttentionSplits}.
 *
 * Why a floor of 256 keys: splitting adds a combine dispatch, and on the H100 every dependent dispatch costs
 * about 9 µs of drain (2 ms over 228 dispatches per decoded token), while one workgroup gets through a 64-key
 * chunk in a few µs; a split pays once it saves several chunks. So the 137-row cache of a 128-token decode
 * benchmark keeps one workgroup per head and no combine, and a 4096-row cache gets 16 splits for a 32-head
 * model, where one workgroup per head would walk 64 chunks serially. Prefill windows (`heads · tokens` ≥ the
 * target) get 1. The kernel shortens the spans to the visible keys at run time, so early steps of a long-cache
 * model use fewer splits.
 *
 * @param shape.capacity - rows of the KV cache (positions it can hold).
 * @throws {RangeError} when a size is not a positive integer.
 */
export function planAttentionSplits(
  shape: { readonly tokens: number; readonly heads: number; readonly capacity: number },
  options: { readonly targetWorkgroups?: number; readonly minKeysPerSplit?: number } = {},
): number {
  const fn = 'planAttentionSplits';
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const capacity = assertCount(fn, 'shape.capacity', shape.capacity);
  const target = assertCount(fn, 'options.targetWorkgroups', options.targetWorkgroups ?? 512);
  const minKeys = assertCount(fn, 'options.minKeysPerSplit', options.minKeysPerSplit ?? 256);
  const pairs = tokens * heads;
  if (pairs >= target) return 1;
  return Math.max(1, Math.min(Math.ceil(target / pairs), Math.floor(capacity / minKeys), maxAttentionSplits));
}
