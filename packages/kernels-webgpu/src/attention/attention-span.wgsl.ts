/**
 * WGSL shared by the attention kernel and its split combine: the parameters, the shared position, the range of
 * keys a query sees and the span of keys one split covers. Both kernels must agree on the spans, so they are
 * written once. Not a kernel of its own.
 */
export const attentionSpanWgsl = /* wgsl */ `
struct Params {
  tokens: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32,
  window: u32,
  splits: u32,
}

struct Position {
  position: u32,
}

/** Keys [x, y) that query \`token\` sees: causal up to its own position, within the sliding window if any. */
fn visibleKeys(token: u32) -> vec2u {
  let keyCount = position.position + token + 1u;
  // Keys before the window are never visited, so they take no part in the maximum or the sum.
  var firstKey = 0u;
  if (params.window != 0u && keyCount > params.window) {
    firstKey = keyCount - params.window;
  }
  return vec2u(firstKey, keyCount);
}

/** Keys per split: the visible keys shared by \`splits\`, rounded up to whole chunks of \`chunk\` keys. */
fn splitSpan(visible: u32, chunk: u32) -> u32 {
  let share = (visible + params.splits - 1u) / params.splits;
  return ((share + chunk - 1u) / chunk) * chunk;
}
`;
