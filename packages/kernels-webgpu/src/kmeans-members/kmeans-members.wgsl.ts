/**
 * Lists the members of some clusters with their weighted costs, for k-means' empty-cluster repair: every
 * point whose cluster has a slot (`slots[cluster]` ≠ 0xffffffff) appends (global point index, slot, f32 bits
 * of w·‖x − c‖², 0) at the position an integer atomic counter hands out. The order of the entries depends on
 * scheduling; the host sorts them, so the result is deterministic. Entries beyond `capacity` are counted but
 * not written: the host then retries with room for `counter[0]` entries.
 *
 * 0 points       [count, dim] f32                                  read
 * 1 weights      [count] f32                                       read
 * 2 assignments  [count] u32                                       read
 * 3 centroids    [k, dim] f32                                      read
 * 4 slots        [k] u32, 0xffffffff = not requested               read
 * 5 counter      [4] u32, word 0 = entries found (atomic)          read_write
 * 6 entries      [capacity] vec4u (point, slot, cost bits, 0)      read_write
 * 7 params       Params                                            uniform
 */
export const kmeansMembersWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override dim: u32 = 8;

struct Params {
  count: u32,
  first: u32,
  capacity: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> assignments: array<u32>;
@group(0) @binding(3) var<storage, read> centroids: array<f32>;
@group(0) @binding(4) var<storage, read> slots: array<u32>;
@group(0) @binding(5) var<storage, read_write> counter: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> entries: array<vec4u>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let point = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (point >= params.count) {
    return;
  }
  let cluster = assignments[point];
  let slot = slots[cluster];
  if (slot == 0xffffffffu) {
    return;
  }
  var distance = 0.0;
  for (var j = 0u; j < dim; j++) {
    let difference = points[point * dim + j] - centroids[cluster * dim + j];
    distance += difference * difference;
  }
  let cost = weights[point] * distance;
  let at = atomicAdd(&counter[0], 1u);
  if (at < params.capacity) {
    entries[at] = vec4u(params.first + point, slot, bitcast<u32>(cost), 0u);
  }
}
`;
