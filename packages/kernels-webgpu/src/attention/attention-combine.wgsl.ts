import { attentionSpanWgsl } from './attention-span.wgsl';

/**
 * Merges the split partials of the attention kernel (`attentionWgsl` with `splits` > 1) for query `token` of
 * `head`: with the `usedSplits` splits that had keys (the same spans, from the same position), `M = max_s m_s`,
 * `output = Σ_s o_s · exp(m_s − M) / Σ_s l_s · exp(m_s − M)`. One workgroup per (head, token), invocations over
 * the output dimensions; every invocation walks the ≤ 64 splits itself, which costs less than sharing their
 * weights through workgroup memory.
 *
 * 0 partials  [tokens, heads, splits, headDim + 2] f32  read ([o (headDim), m, l] per split)
 * 1 output    [tokens, heads, headDim] f32               read_write
 * 2 params    Params                                     uniform (the attention kernel's)
 * 3 position  Position                                   uniform
 */
export const attentionCombineWgsl = /* wgsl */ `
override workgroupSize: u32 = 64;
// The attention kernel's chunk: spans are whole chunks of its workgroup size.
override chunkKeys: u32 = 64;
${attentionSpanWgsl}
@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<uniform> position: Position;

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let head = workgroup.x;
  let token = workgroup.y;
  let visibleRange = visibleKeys(token);
  let visible = visibleRange.y - visibleRange.x;
  let span = splitSpan(visible, chunkKeys);
  let usedSplits = (visible + span - 1u) / span;
  let headDim = params.headDim;
  let stride = headDim + 2u;
  let base = (token * params.heads + head) * params.splits * stride;
  var maximum = -3.0e38;
  for (var s = 0u; s < usedSplits; s++) {
    maximum = max(maximum, partials[base + s * stride + headDim]);
  }
  var total = 0.0;
  for (var s = 0u; s < usedSplits; s++) {
    total += partials[base + s * stride + headDim + 1u] * exp(partials[base + s * stride + headDim] - maximum);
  }
  let outputBase = (token * params.heads + head) * headDim;
  for (var d = local; d < headDim; d += workgroupSize) {
    var sum = 0.0;
    for (var s = 0u; s < usedSplits; s++) {
      sum += partials[base + s * stride + d] * exp(partials[base + s * stride + headDim] - maximum);
    }
    output[outputBase + d] = sum / total;
  }
}
`;
