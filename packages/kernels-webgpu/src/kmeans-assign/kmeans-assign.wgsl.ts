import { assignLoadsWgsl } from './assign-loads.wgsl';

/**
 * Nearest-centroid assignment (squared Euclidean distance, ties to the lower centroid index), the heavy step
 * of k-means, written as the small GEMM it is: each invocation keeps `pointsPerInvocation` points in registers
 * (`dim` ≤ 16 coordinates as up to 4 vec4), the workgroup stages `workgroupSize` centroids at a time in
 * workgroup memory, and every staged centroid is read by all invocations at once (a broadcast, no bank
 * conflicts) and used against all their points. With `expandedDistance` the score of a pair is
 * `½‖c‖² − x·c` (‖x‖² is the same for every centroid of a point): `dim` multiply-adds per pair, against
 * 2·`dim` operations for `Σ(x − c)²`, at the price of a rounding error that scales with ‖c‖² instead of the
 * distance (near-ties may resolve differently; see the engine's README). Each invocation counts the points
 * whose assignment changed (the old value is read before it is overwritten) and the workgroup adds its count
 * to `stats[2]` with one integer atomic. Point `p` of an invocation is
 * `(id.x + id.y·nx)·workgroupSize·pointsPerInvocation + p·workgroupSize + local`, so loads are coalesced.
 *
 * 0 points       [count, dim] f32                                   read
 * 1 centroids    [k, dim] f32                                       read
 * 2 assignments  [count] u32 (previous assignment in, new one out)  read_write
 * 3 stats        [4] u32, word 2 = changed assignments (atomic add) read_write
 * 4 params       Params                                             uniform
 */
export const kmeansAssignWgsl = /* wgsl */ `
override workgroupSize: u32 = 128;
override pointsPerInvocation: u32 = 4;
override dim: u32 = 8;
override expandedDistance: bool = true;
override dimVectors: u32 = (dim + 3u) / 4u;
override tileVectors: u32 = workgroupSize * dimVectors;

struct Params {
  count: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> assignments: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> tile: array<vec4f, tileVectors>;
var<workgroup> tileHalfNorms: array<f32, workgroupSize>;
var<workgroup> workgroupChanged: atomic<u32>;
${assignLoadsWgsl}
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let first = (workgroup.x + workgroup.y * grid.x) * workgroupSize * pointsPerInvocation + local;
  var x: array<array<vec4f, maxVectors>, maxPoints>;
  var best: array<f32, maxPoints>;
  var bestIndex: array<u32, maxPoints>;
  for (var p = 0u; p < pointsPerInvocation; p++) {
    best[p] = largest;
    let point = first + p * workgroupSize;
    if (point < params.count) {
      for (var v = 0u; v < dimVectors; v++) {
        x[p][v] = loadPoint(point, v);
      }
    }
  }

  for (var tileStart = 0u; tileStart < params.k; tileStart += workgroupSize) {
    let available = min(workgroupSize, params.k - tileStart);
    if (local < available) {
      var squared = 0.0;
      for (var v = 0u; v < dimVectors; v++) {
        let c = loadCentroid(tileStart + local, v);
        tile[local * dimVectors + v] = c;
        squared += dot(c, c);
      }
      tileHalfNorms[local] = 0.5 * squared;
    }
    workgroupBarrier();
    for (var j = 0u; j < available; j++) {
      var c: array<vec4f, maxVectors>;
      for (var v = 0u; v < dimVectors; v++) {
        c[v] = tile[j * dimVectors + v];
      }
      let halfNorm = tileHalfNorms[j];
      for (var p = 0u; p < pointsPerInvocation; p++) {
        var score: f32;
        if (expandedDistance) {
          score = halfNorm;
          for (var v = 0u; v < dimVectors; v++) {
            score -= dot(x[p][v], c[v]);
          }
        } else {
          score = 0.0;
          for (var v = 0u; v < dimVectors; v++) {
            let difference = x[p][v] - c[v];
            score += dot(difference, difference);
          }
        }
        // Strictly smaller: of equal scores the first, i.e. the lower index, wins.
        if (score < best[p]) {
          best[p] = score;
          bestIndex[p] = tileStart + j;
        }
      }
    }
    workgroupBarrier();
  }

  var changed = 0u;
  for (var p = 0u; p < pointsPerInvocation; p++) {
    let point = first + p * workgroupSize;
    if (point < params.count) {
      if (assignments[point] != bestIndex[p]) {
        changed++;
      }
      assignments[point] = bestIndex[p];
    }
  }
  if (changed > 0u) {
    atomicAdd(&workgroupChanged, changed);
  }
  workgroupBarrier();
  if (local == 0u) {
    let total = atomicLoad(&workgroupChanged);
    if (total > 0u) {
      atomicAdd(&stats[2], total);
    }
  }
}
`;
