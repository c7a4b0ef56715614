/**
 * Index of the largest value of every row (greedy decoding over logits); ties go to the lowest index. The
 * first element of a row seeds the search, so a row of −∞ gives 0. Rows must hold no NaN (the result is
 * then unspecified). One workgroup per row (flattened as `id.x + id.y·nx`).
 *
 * 0 logits   [rows, cols] f32  read
 * 1 indices  [rows] u32        read_write
 * 2 params   Params            uniform
 */
export const argmaxWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> indices: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> bestValues: array<f32, workgroupSize>;
var<workgroup> bestIndices: array<u32, workgroupSize>;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let row = workgroup.x + workgroup.y * grid.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.cols;
  // params.cols marks "nothing seen yet"; an invocation visits increasing indices, so a strict > keeps
  // the lowest index among equal values.
  var best = 0.0;
  var bestIndex = params.cols;
  for (var c = local; c < params.cols; c += workgroupSize) {
    let value = logits[base + c];
    if (bestIndex == params.cols || value > best) {
      best = value;
      bestIndex = c;
    }
  }
  bestValues[local] = best;
  bestIndices[local] = bestIndex;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      let otherIndex = bestIndices[local + stride];
      let other = bestValues[local + stride];
      let mine = bestIndices[local];
      let better = other > bestValues[local] || (other == bestValues[local] && otherIndex < mine);
      if (otherIndex != params.cols && (mine == params.cols || better)) {
        bestValues[local] = other;
        bestIndices[local] = otherIndex;
      }
    }
    workgroupBarrier();
  }
  if (local == 0u) {
    indices[row] = bestIndices[0];
  }
}
`;
