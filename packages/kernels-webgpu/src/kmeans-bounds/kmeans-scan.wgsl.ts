import { assignLoadsWgsl } from '../kmeans-assign/assign-loads.wgsl';
import { boundsSlackWgsl, boundsState } from './bounds-state';

/**
 * The last kernel of a bounded assignment: the assignment kernel's tiled scan (`kmeans-assign`, expanded form),
 * over the points the filter listed instead of all of them, also keeping each point's second-best score. The
 * scores are the assignment kernel's arithmetic, written the same way, so a listed point gets the centroid the full
 * scan gives it. Each point's new bounds come from its two best scores, widened by their rounding error: the upper
 * bound on the distance to its centroid and the lower bound on the distance to every other. Changed assignments
 * are counted into `stats[2]` as in the full scan. Workgroups past the list's end return at once (the grid covers
 * every point of the chunk; the list length is known only on the device).
 *
 * 0 points       [count, dim] f32                   read
 * 1 centroids    [k, dim] f32                       read
 * 2 assignments  [count] u32                        read_write
 * 3 stats        [4] u32, word 2 += changed         read_write (atomic)
 * 4 bounds       [count] vec2f (upper, lower)        read_write
 * 5 list         [count] u32 point indices          read
 * 6 state        boundsState words                  read
 * 7 params       Params                             uniform
 */
export const kmeansScanWgsl = /* wgsl */ `
override workgroupSize: u32 = 128;
override pointsPerInvocation: u32 = 4;
override dim: u32 = 8;
override dimVectors: u32 = (dim + 3u) / 4u;
override tileVectors: u32 = workgroupSize * dimVectors;
const maxNormWord = ${boundsState.maxNorm}u;
const listLengths = ${boundsState.listLengths}u;

struct Params {
  k: u32,
  chunk: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> assignments: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> bounds: array<vec2f>;
@group(0) @binding(5) var<storage, read> list: array<u32>;
@group(0) @binding(6) var<storage, read> state: array<u32>;
@group(0) @binding(7) var<uniform> params: Params;

var<workgroup> tile: array<vec4f, tileVectors>;
var<workgroup> tileHalfNorms: array<f32, workgroupSize>;
var<workgroup> workgroupChanged: atomic<u32>;
${boundsSlackWgsl}${assignLoadsWgsl}
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let length = state[listLengths + params.chunk];
  let start = (workgroup.x + workgroup.y * grid.x) * workgroupSize * pointsPerInvocation;
  if (start >= length) {
    return;
  }
  let first = start + local;
  var x: array<array<vec4f, maxVectors>, maxPoints>;
  var point: array<u32, maxPoints>;
  var best: array<f32, maxPoints>;
  var second: array<f32, maxPoints>;
  var bestIndex: array<u32, maxPoints>;
  for (var p = 0u; p < pointsPerInvocation; p++) {
    best[p] = largest;
    second[p] = largest;
    let entry = first + p * workgroupSize;
    if (entry < length) {
      point[p] = list[entry];
      for (var v = 0u; v < dimVectors; v++) {
        x[p][v] = loadPoint(point[p], v);
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
        var score = halfNorm;
        for (var v = 0u; v < dimVectors; v++) {
          score -= dot(x[p][v], c[v]);
        }
        // Strictly smaller: of equal scores the first, i.e. the lower index, wins; the runner-up is whichever
        // of the old best and this score is larger, if below the old runner-up.
        second[p] = min(second[p], max(best[p], score));
        if (score < best[p]) {
          best[p] = score;
          bestIndex[p] = tileStart + j;
        }
      }
    }
    workgroupBarrier();
  }

  let maxNorm = bitcast<f32>(state[maxNormWord]);
  var changed = 0u;
  for (var p = 0u; p < pointsPerInvocation; p++) {
    if (first + p * workgroupSize < length) {
      let i = point[p];
      if (assignments[i] != bestIndex[p]) {
        changed++;
      }
      assignments[i] = bestIndex[p];
      var squaredNorm = 0.0;
      for (var v = 0u; v < dimVectors; v++) {
        squaredNorm += dot(x[p][v], x[p][v]);
      }
      // ‖x − c‖² = 2·score + ‖x‖² exactly; each computed score is within error of its exact value, ‖x‖² within
      // 2⁻¹⁹ of its own (dim ≤ 16 roundings), and each sum is rounded once more (the slack).
      let error = scoreError(dim, sqrt(squaredNorm) * boundUp, maxNorm);
      let upper = sqrt(max(0.0, (2.0 * best[p] + squaredNorm * (1.0 + 0x1p-19f) + 2.0 * error) * boundUp)) * boundUp;
      let lower = sqrt(max(0.0, (2.0 * second[p] + squaredNorm * (1.0 - 0x1p-19f) - 2.0 * error) * boundDown)) * boundDown;
      bounds[i] = vec2f(upper, lower);
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
