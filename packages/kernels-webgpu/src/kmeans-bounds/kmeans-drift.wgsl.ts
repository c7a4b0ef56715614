import { boundsSlackWgsl, boundsState } from './bounds-state';

/**
 * The first kernel of a bounded assignment: for every centroid, an upper bound on how far it moved since the last
 * assignment (`drift`), one histogram count per drift (bins of the top 11 bits of its f32), and the largest
 * centroid norm (atomic max of f32 bits, which order like the values for non-negative floats); then `previous`
 * takes the new centroid, for the next assignment. One invocation per centroid.
 *
 * 0 centroids  [k, dim] f32                          read
 * 1 previous   [k, dim] f32                          read_write
 * 2 drift      [k] f32                               read_write
 * 3 state      boundsState words                     read_write (atomic)
 * 4 params     Params                                uniform
 */
export const kmeansDriftWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override dim: u32 = 8;
const maxNormWord = ${boundsState.maxNorm}u;
const histogram = ${boundsState.histogram}u;

struct Params {
  k: u32,
}

@group(0) @binding(0) var<storage, read> centroids: array<f32>;
@group(0) @binding(1) var<storage, read_write> previous: array<f32>;
@group(0) @binding(2) var<storage, read_write> drift: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> params: Params;
${boundsSlackWgsl}
@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(num_workgroups) grid: vec3u, @builtin(local_invocation_index) local: u32) {
  let c = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (c >= params.k) {
    return;
  }
  var moved = 0.0;
  var norm = 0.0;
  for (var j = 0u; j < dim; j++) {
    let value = centroids[c * dim + j];
    let difference = value - previous[c * dim + j];
    moved += difference * difference;
    norm += value * value;
    previous[c * dim + j] = value;
  }
  let delta = sqrt(moved) * boundUp;
  drift[c] = delta;
  atomicAdd(&state[histogram + (bitcast<u32>(delta) >> 20u)], 1u);
  atomicMax(&state[maxNormWord], bitcast<u32>(sqrt(norm) * boundUp));
}
`;
