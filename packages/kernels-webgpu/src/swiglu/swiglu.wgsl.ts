/**
 * SwiGLU activation of the Llama MLP, element-wise: `output[i] = silu(gate[i]) · up[i]` with
 * `silu(g) = g / (1 + exp(−g))`. One invocation per element; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 gate    [count] f32  read
 * 1 up      [count] f32  read
 * 2 output  [count] f32  read_write
 * 3 params  Params       uniform
 */
export const swigluWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

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
  let g = gate[index];
  // exp(-g) overflows to +inf for g < -88, and g / inf = -0, the correct limit of silu.
  output[index] = g / (1.0 + exp(-g)) * up[index];
}
`;
