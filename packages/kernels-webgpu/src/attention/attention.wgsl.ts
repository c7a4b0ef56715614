/**
 * Causal multi-head attention of `tokens` queries over a KV cache, with grouped-query heads (GQA): query
 * `t` (absolute position `position + t`) of head `h` attends to keys `0 … position + t` of KV head
 * `h / (heads / kvHeads)`, or with a sliding window (`window` > 0) to the last `window` of them,
 * `max(0, position + t − window + 1) … position + t`; `output = softmax(scale · q·Kᵀ) · V`. One workgroup per
 * (head, token). Keys are
 * visited in chunks of `workgroupSize` (one key per invocation), with the running maximum and sum of the
 * online softmax, so any context length works without scratch memory. Each invocation accumulates up to
 * 4 output dimensions, so headDim ≤ 4 · workgroupSize. Sums and exponentials are f32.
 *
 * 0 query   [tokens, heads, headDim] f32      read
 * 1 keys    [capacity, kvHeads, headDim] f32  read (rows ≥ position + tokens already written)
 * 2 values  [capacity, kvHeads, headDim] f32  read
 * 3 output  [tokens, heads, headDim] f32      read_write
 * 4 params  Params                            uniform
 */
export const attentionWgsl = /* wgsl */ `
override workgroupSize: u32 = 64;
const maxDimsPerInvocation = 4u;
const maxHeadDim = 1024u;

struct Params {
  tokens: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  position: u32,
  scale: f32,
  window: u32,
}

@group(0) @binding(0) var<storage, read> query: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

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
  let headDim = params.headDim;
  let kvHead = head / (params.heads / params.kvHeads);
  let queryBase = (token * params.heads + head) * headDim;
  for (var d = local; d < headDim; d += workgroupSize) {
    scaledQuery[d] = query[queryBase + d] * params.scale;
  }
  workgroupBarrier();

  let keyCount = params.position + token + 1u;
  // Keys before the window are never visited, so they take no part in the maximum or the sum.
  var firstKey = 0u;
  if (params.window != 0u && keyCount > params.window) {
    firstKey = keyCount - params.window;
  }
  let kvStride = params.kvHeads * headDim;
  var runningMax = 0.0;
  var runningSum = 0.0;
  var sums: array<f32, maxDimsPerInvocation>;

  for (var chunk = firstKey; chunk < keyCount; chunk += workgroupSize) {
    let key = chunk + local;
    let valid = key < keyCount;
    var score = 0.0;
    if (valid) {
      let keyBase = key * kvStride + kvHead * headDim;
      for (var d = 0u; d < headDim; d++) {
        score += scaledQuery[d] * keys[keyBase + d];
      }
    }
    // Keys past the causal limit enter the maximum as -3e38 so they never raise it (key 0 of every chunk is
    // valid); their weight is zeroed below.
    scratch[local] = select(-3.0e38, score, valid);
    workgroupBarrier();
    let chunkMax = reduceMax(local);
    let newMax = select(max(runningMax, chunkMax), chunkMax, chunk == firstKey);
    let weight = select(0.0, exp(score - newMax), valid);
    weights[local] = weight;
    scratch[local] = weight;
    workgroupBarrier();
    let chunkSum = reduceSum(local);
    let correction = select(exp(runningMax - newMax), 0.0, chunk == firstKey);
    runningSum = runningSum * correction + chunkSum;
    let chunkKeys = min(workgroupSize, keyCount - chunk);
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

  for (var slot = 0u; slot < maxDimsPerInvocation; slot++) {
    let d = local + slot * workgroupSize;
    if (d < headDim) {
      output[queryBase + d] = sums[slot] / runningSum;
    }
  }
}
`;
