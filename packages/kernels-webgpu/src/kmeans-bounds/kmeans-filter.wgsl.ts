import { boundsSlackWgsl, boundsState } from './bounds-state';

/**
 * The third kernel of a bounded assignment, one invocation per point of a chunk: moves the point's bounds with
 * the centroids (the upper bound on the distance to its centroid up by that centroid's drift; the lower bound on
 * the distance to every other centroid down by the rest's drift, and down to the exact distance of every other
 * mover), and appends the point to the chunk's scan list unless the bounds prove its centroid is still the one the
 * full scan would pick: first as moved, then with the exact distance to its centroid. A point that was never
 * assigned (0xffffffff) is always listed. The list order depends on the atomics; nothing else does.
 *
 * 0 points       [count, dim] f32                   read
 * 1 assignments  [count] u32                        read
 * 2 bounds       [count] vec2f (upper, lower)        read_write
 * 3 drift        [k] f32                            read
 * 4 movers       as the movers kernel writes them    read
 * 5 state        boundsState words                  read_write (atomic: this chunk's list length)
 * 6 list         [count] u32 point indices          read_write
 * 7 centroids    [k, dim] f32                       read
 * 8 params       Params                             uniform
 */
export const kmeansFilterWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override dim: u32 = 8;
override maxMovers: u32 = 128;
override dimVectors: u32 = (dim + 3u) / 4u;
const maxVectors = 4u;
const unassigned = 0xffffffffu;
const maxNormWord = ${boundsState.maxNorm}u;
const restWord = ${boundsState.restDrift}u;
const moversWord = ${boundsState.movers}u;
const listLengths = ${boundsState.listLengths}u;

struct Params {
  count: u32,
  chunk: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> assignments: array<u32>;
@group(0) @binding(2) var<storage, read_write> bounds: array<vec2f>;
@group(0) @binding(3) var<storage, read> drift: array<f32>;
@group(0) @binding(4) var<storage, read> movers: array<u32>;
@group(0) @binding(5) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> list: array<u32>;
@group(0) @binding(7) var<storage, read> centroids: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

var<workgroup> moverTile: array<vec4f, maxMovers * maxVectors>;
var<workgroup> moverIds: array<u32, maxMovers>;
var<workgroup> listed: atomic<u32>;
var<workgroup> listBase: u32;
${boundsSlackWgsl}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(num_workgroups) grid: vec3u, @builtin(local_invocation_index) local: u32) {
  let moverCount = atomicLoad(&state[moversWord]);
  for (var m = local; m < moverCount; m += workgroupSize) {
    for (var v = 0u; v < dimVectors; v++) {
      var c = vec4f(0.0);
      for (var lane = 0u; lane < 4u; lane++) {
        if (v * 4u + lane < dim) {
          c[lane] = bitcast<f32>(movers[m * dim + v * 4u + lane]);
        }
      }
      moverTile[m * maxVectors + v] = c;
    }
    moverIds[m] = movers[maxMovers * dim + m];
  }
  workgroupBarrier();

  let point = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  var scan = false;
  if (point < params.count) {
    let assigned = assignments[point];
    if (assigned == unassigned) {
      scan = true;
    } else {
      var x: array<vec4f, maxVectors>;
      var squaredNorm = 0.0;
      for (var j = 0u; j < dim; j++) {
        let value = points[point * dim + j];
        x[j / 4u][j % 4u] = value;
        squaredNorm += value * value;
      }
      let error = scoreError(dim, sqrt(squaredNorm) * boundUp, bitcast<f32>(atomicLoad(&state[maxNormWord])));
      let old = bounds[point];
      var upper = (old.x + drift[assigned]) * boundUp;
      var lower = max(0.0, old.y - bitcast<f32>(atomicLoad(&state[restWord]))) * boundDown;
      // The nearest other mover, squared (one square root after the loop).
      var nearestMover = 0x1.fffffep+127f;
      for (var m = 0u; m < moverCount; m++) {
        var distance = 0.0;
        for (var v = 0u; v < dimVectors; v++) {
          let difference = x[v] - moverTile[m * maxVectors + v];
          distance += dot(difference, difference);
        }
        // The point's own centroid, if it is a mover, is no "other" centroid.
        nearestMover = select(nearestMover, min(nearestMover, distance), moverIds[m] != assigned);
      }
      lower = min(lower, sqrt(nearestMover) * boundDown);
      if (!separated(upper, lower, error)) {
        var distance = 0.0;
        for (var j = 0u; j < dim; j++) {
          let difference = x[j / 4u][j % 4u] - centroids[assigned * dim + j];
          distance += difference * difference;
        }
        upper = sqrt(distance) * boundUp;
        scan = !separated(upper, lower, error);
      }
      bounds[point] = vec2f(upper, lower);
    }
  }
  var slot = 0u;
  if (scan) {
    slot = atomicAdd(&listed, 1u);
  }
  workgroupBarrier();
  if (local == 0u) {
    listBase = atomicAdd(&state[listLengths + params.chunk], atomicLoad(&listed));
  }
  workgroupBarrier();
  if (scan) {
    list[listBase + slot] = point;
  }
}
`;
