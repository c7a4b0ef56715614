/**
 * Appends a window's keys and values to a layer's KV cache: row t of `keys`/`values` goes to cache row
 * `position + t`. The position lives in a uniform that the decoder writes once per forward pass and that every
 * layer's dispatch shares, so moving to the next token costs one `writeBuffer`, not one per layer.
 * One invocation per element; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 keys        [tokens, width] f32     read
 * 1 values      [tokens, width] f32     read
 * 2 keyCache    [capacity, width] f32   read_write
 * 3 valueCache  [capacity, width] f32   read_write
 * 4 shape       Shape (tokens, width)   uniform, fixed per recorded window size
 * 5 state       State (position)        uniform, rewritten per forward pass
 */
export const kvAppendWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Shape {
  tokens: u32,
  width: u32,
}

struct State {
  position: u32,
}

@group(0) @binding(0) var<storage, read> keys: array<f32>;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> keyCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> valueCache: array<f32>;
@group(0) @binding(4) var<uniform> shape: Shape;
@group(0) @binding(5) var<uniform> state: State;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (index >= shape.tokens * shape.width) {
    return;
  }
  let destination = state.position * shape.width + index;
  keyCache[destination] = keys[index];
  valueCache[destination] = values[index];
}
`;
