/**
 * RMSNorm of Llama, row by row: `y[r, c] = x[r, c] / sqrt(mean_c(x[r, c]²) + epsilon) · weight[c]`.
 * One workgroup per row (flattened as `id.x + id.y·nx`); the sum of squares is reduced in f32 through
 * workgroup memory.
 *
 * 0 x       [rows, cols] f32  read
 * 1 weight  [cols] f32        read
 * 2 y       [rows, cols] f32  read_write
 * 3 params  Params            uniform
 */
export const rmsNormWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  rows: u32,
  cols: u32,
  epsilon: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, workgroupSize>;

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
  var sum = 0.0;
  for (var c = local; c < params.cols; c += workgroupSize) {
    let value = x[base + c];
    sum += value * value;
  }
  partial[local] = sum;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      partial[local] += partial[local + stride];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(params.cols) + params.epsilon);
  for (var c = local; c < params.cols; c += workgroupSize) {
    y[base + c] = x[base + c] * scale * weight[c];
  }
}
`;
