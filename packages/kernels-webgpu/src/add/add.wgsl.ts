/**
 * In-place element-wise add, the residual connection of a decoder layer: `accumulator[i] += addend[i]`.
 * One invocation per element; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 addend  [count] f32  read
 * 1 accumulator  [count] f32  read_write (the `target` buffer)
 * 2 params  Params       uniform
 */
export const addWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> addend: array<f32>;
@group(0) @binding(1) var<storage, read_write> accumulator: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (index >= params.count) {
    return;
  }
  accumulator[index] = accumulator[index] + addend[index];
}
`;
