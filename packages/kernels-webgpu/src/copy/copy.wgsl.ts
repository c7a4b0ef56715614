/**
 * Buffer copy in 16-byte words, the yardstick for bandwidth: every other kernel's GB/s is compared with it.
 * One invocation per vec4<u32>; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 source       [count] vec4<u32>  read
 * 1 destination  [count] vec4<u32>  read_write
 * 2 params       Params             uniform
 */
export const copyWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> source: array<vec4u>;
@group(0) @binding(1) var<storage, read_write> destination: array<vec4u>;
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
  destination[index] = source[index];
}
`;
