import { boundsState } from './bounds-state';

/**
 * The second kernel of a bounded assignment, one workgroup: picks the "movers", the at most `maxMovers`
 * centroids that drifted most (every centroid whose drift lies in a histogram bin above a threshold, the lowest
 * threshold that keeps them within `maxMovers`), writes an upper bound on every other centroid's drift (the
 * threshold bin's upper edge) and lists the movers with their coordinates. Points then measure their exact
 * distance to the movers and move their lower bound only by the rest's drift: after the first iterations a few
 * clusters keep moving far while most barely move, which a single largest drift (Hamerly's bound) cannot tell
 * apart. The list order depends on the atomics, but all that is taken from it is a minimum, which does not.
 *
 * 0 centroids  [k, dim] f32                                                   read
 * 1 drift      [k] f32                                                        read
 * 2 state      boundsState words                                              read_write (atomic)
 * 3 movers     [maxMovers, dim] f32 coordinates, then [maxMovers] u32 indices  read_write
 * 4 params     Params                                                         uniform
 */
export const kmeansMoversWgsl = /* wgsl */ `
override dim: u32 = 8;
override maxMovers: u32 = 128;
const restWord = ${boundsState.restDrift}u;
const moversWord = ${boundsState.movers}u;
const histogram = ${boundsState.histogram}u;
const bins = ${boundsState.bins}u;
const lanes = 256u;
const binsPerLane = bins / lanes;

struct Params {
  k: u32,
}

@group(0) @binding(0) var<storage, read> centroids: array<f32>;
@group(0) @binding(1) var<storage, read> drift: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> movers: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> laneCounts: array<u32, lanes>;
var<workgroup> threshold: u32;
var<workgroup> found: atomic<u32>;

@compute @workgroup_size(lanes)
fn main(@builtin(local_invocation_index) local: u32) {
  var sum = 0u;
  for (var b = 0u; b < binsPerLane; b++) {
    sum += atomicLoad(&state[histogram + local * binsPerLane + b]);
  }
  laneCounts[local] = sum;
  workgroupBarrier();
  if (local == 0u) {
    // From the top bin down, take whole bins while they fit: the movers are the bins at and above threshold.
    var taken = 0u;
    var lane = i32(lanes) - 1;
    while (lane >= 0 && taken + laneCounts[lane] <= maxMovers) {
      taken += laneCounts[lane];
      lane--;
    }
    var next = 0u;
    if (lane >= 0) {
      var bin = u32(lane) * binsPerLane + binsPerLane - 1u;
      loop {
        let count = atomicLoad(&state[histogram + bin]);
        if (taken + count > maxMovers) {
          break;
        }
        taken += count;
        bin--;
      }
      next = bin + 1u;
    }
    threshold = next;
    // Every drift below the threshold bin is below its first value (0 when every centroid is a mover).
    atomicStore(&state[restWord], select(0u, next << 20u, next > 0u));
  }
  workgroupBarrier();
  let cut = threshold;
  for (var c = local; c < params.k; c += lanes) {
    if ((bitcast<u32>(drift[c]) >> 20u) >= cut) {
      let slot = atomicAdd(&found, 1u);
      for (var j = 0u; j < dim; j++) {
        movers[slot * dim + j] = bitcast<u32>(centroids[c * dim + j]);
      }
      movers[maxMovers * dim + slot] = c;
    }
  }
  workgroupBarrier();
  if (local == 0u) {
    atomicStore(&state[moversWord], atomicLoad(&found));
  }
}
`;
