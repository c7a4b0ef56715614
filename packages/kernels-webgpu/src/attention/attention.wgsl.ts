import { attentionSpanWgsl } from './attention-span.wgsl';

/**
 * Causal multi-head attention of `tokens` queries over a KV cache, with grouped-query heads (GQA): query
 * `t` (absolute position `position + t`) of head `h` attends to keys `0 … position + t` of KV head
 * `h / (heads / kvHeads)`, or with a sliding window (`window` > 0) to the last `window` of them,
 * `max(0, position + t − window + 1) … position + t`; `output = softmax(scale · q·Kᵀ) · V`. The position comes
 * from a uniform that every position-dependent kernel of a forward pass shares.
 *
 * Split-K: workgroup `(head, token, split)` handles one contiguous span of the visible keys. The span is
 * `ceil(visible / splits)` rounded up to whole chunks of `workgroupSize` keys, computed from the position at run
 * time, so a short context uses fewer splits (the rest exit at once) and a long one spreads over all of them:
 * one decoded token has only `heads` (head, token) pairs, far fewer than a GPU has cores, and one workgroup per
 * head left most of them idle and walked the whole cache serially. With `splits` = 1 the workgroup writes the
 * normalized output; otherwise it writes its unnormalized partial `[Σ w·v (headDim), max, Σ w]` and
 * `attentionCombineWgsl` merges the splits.
 *
 * Inside a span, keys are visited in chunks of `workgroupSize` (one key per invocation), with the running
 * maximum and sum of the online softmax, so any context length works. Each invocation accumulates up to
 * 4 output dimensions, so headDim ≤ 4 · workgroupSize. Sums and exponentials are f32. Each invocation reads
 * its key row whole; with `vectorKeys` (headDim a multiple of 4) it does so through a `vec4` view of the same
 * cache (binding 7), a quarter of the loads of the latency-bound score loop.
 *
 * 0 query     [tokens, heads, headDim] f32                      read
 * 1 keys      [capacity, kvHeads, headDim] f32                  read (rows ≤ position + tokens − 1 written)
 * 2 values    [capacity, kvHeads, headDim] f32                  read
 * 3 output    [tokens, heads, headDim] f32                      read_write (splits = 1)
 * 4 partials  [tokens, heads, splits, headDim + 2] f32          read_write (splits > 1)
 * 5 params    Params                                            uniform
 * 6 position  Position                                          uniform, rewritten once per forward pass
 * 7 keys4     [capacity, kvHeads, headDim / 4] vec4<f32>        read (binding 1 again, used with vectorKeys)
 */
export const attentionWgsl = /* wgsl */ `
override workgroupSize: u32 = 64;
override vectorKeys: bool = false;
const maxDimsPerInvocation = 4u;
const maxHeadDim = 1024u;
${attentionSpanWgsl}
@group(0) @binding(0) var<storage, read> query: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<uniform> position: Position;
@group(0) @binding(7) var<storage, read> keys4: array<vec4<f32>>;

var<workgroup> scaledQuery: array<f32, maxHeadDim>;
var<workgroup> weights: array<f32, workgroupSize>;
var<workgroup> scratch: array<f32, workgroupSize>;

fn reduceMax(local: u32) -> f32 {
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      scratch[local] = max(scratch[local], scratch[local + stride]);
    }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier();
  return result;
}

fn reduceSum(local: u32) -> f32 {
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      scratch[local] += scratch[local + stride];
    }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let head = workgroup.x;
  let token = workgroup.y;
  let split = workgroup.z;
  let visibleRange = visibleKeys(token);
  let span = splitSpan(visibleRange.y - visibleRange.x, workgroupSize);
  let start = visibleRange.x + split * span;
  // Splits past the visible keys have nothing to do (the whole workgroup leaves: uniform control flow).
  if (start >= visibleRange.y) {
    return;
  }
  let end = min(visibleRange.y, start + span);
  let headDim = params.headDim;
  let kvHead = head / (params.heads / params.kvHeads);
  let queryBase = (token * params.heads + head) * headDim;
  for (var d = local; d < headDim; d += workgroupSize) {
    scaledQuery[d] = query[queryBase + d] * params.scale;
  }
  workgroupBarrier();

  let kvStride = params.kvHeads * headDim;
  var runningMax = 0.0;
  var runningSum = 0.0;
  var sums: array<f32, maxDimsPerInvocation>;

  for (var chunk = start; chunk < end; chunk += workgroupSize) {
    let key = chunk + local;
    let valid = key < end;
    var score = 0.0;
    if (valid) {
      let keyBase = key * kvStride + kvHead * headDim;
      if (vectorKeys) {
        let vectorBase = keyBase / 4u;
        for (var d = 0u; d < headDim; d += 4u) {
          let q = vec4(scaledQuery[d], scaledQuery[d + 1u], scaledQuery[d + 2u], scaledQuery[d + 3u]);
          score += dot(q, keys4[vectorBase + d / 4u]);
        }
      } else {
        for (var d = 0u; d < headDim; d++) {
          score += scaledQuery[d] * keys[keyBase + d];
        }
      }
    }
    // Keys past the span enter the maximum as -3e38 so they never raise it (key 0 of every chunk is valid);
    // their weight is zeroed below.
    scratch[local] = select(-3.0e38, score, valid);
    workgroupBarrier();
    let chunkMax = reduceMax(local);
    let newMax = select(max(runningMax, chunkMax), chunkMax, chunk == start);
    let weight = select(0.0, exp(score - newMax), valid);
    weights[local] = weight;
    scratch[local] = weight;
    workgroupBarrier();
    let chunkSum = reduceSum(local);
    let correction = select(exp(runningMax - newMax), 0.0, chunk == start);
    runningSum = runningSum * correction + chunkSum;
    let chunkKeys = min(workgroupSize, end - chunk);
    for (var slot = 0u; slot < maxDimsPerInvocation; slot++) {
      let d = local + slot * workgroupSize;
      if (d < headDim) {
        var sum = sums[slot] * correction;
        for (var k = 0u; k < chunkKeys; k++) {
          sum += weights[k] * values[(chunk + k) * kvStride + kvHead * headDim + d];
        }
        sums[slot] = sum;
      }
    }
    runningMax = newMax;
    workgroupBarrier();
  }

  if (params.splits == 1u) {
    for (var slot = 0u; slot < maxDimsPerInvocation; slot++) {
      let d = local + slot * workgroupSize;
      if (d < headDim) {
        output[queryBase + d] = sums[slot] / runningSum;
      }
    }
    return;
  }
  let partialBase = ((token * params.heads + head) * params.splits + split) * (headDim + 2u);
  for (var slot = 0u; slot < maxDimsPerInvocation; slot++) {
    let d = local + slot * workgroupSize;
    if (d < headDim) {
      partials[partialBase + d] = sums[slot];
    }
  }
  if (local == 0u) {
    partials[partialBase + headDim] = runningMax;
    partials[partialBase + headDim + 1u] = runningSum;
  }
}
`;
