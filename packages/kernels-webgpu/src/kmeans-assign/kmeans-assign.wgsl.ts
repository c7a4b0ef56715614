/**
 * Nearest-centroid assignment (squared Euclidean distance, ties to the lower centroid index), the heavy
 * step of k-means. One invocation per point, its coordinates in registers (`dim` is an override, ≤ 64);
 * the workgroup stages `tileCentroids` centroids at a time in workgroup memory. Workgroups flattened as
 * `id.x + id.y·nx`.
 *
 * 0 points       [count, dim] f32  read
 * 1 centroids    [k, dim] f32      read
 * 2 assignments  [count] u32       read_write
 * 3 params       Params            uniform
 */
export const kmeansAssignWgsl = /* wgsl */ `
override workgroupSize: u32 = 64;
override dim: u32 = 8;
override tileCentroids: u32 = 128;
override tileFloats: u32 = tileCentroids * dim;
const maxDim = 64u;

struct Params {
  count: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> assignments: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> tile: array<f32, tileFloats>;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let pointIndex = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  let valid = pointIndex < params.count;
  var point: array<f32, maxDim>;
  if (valid) {
    for (var i = 0u; i < dim; i++) {
      point[i] = points[pointIndex * dim + i];
    }
  }
  var best = 0u;
  var bestSum = 3.4e38;
  for (var tileStart = 0u; tileStart < params.k; tileStart += tileCentroids) {
    let available = min(tileCentroids, params.k - tileStart);
    for (var e = local; e < available * dim; e += workgroupSize) {
      tile[e] = centroids[tileStart * dim + e];
    }
    workgroupBarrier();
    if (valid) {
      for (var j = 0u; j < available; j++) {
        var sum = 0.0;
        for (var i = 0u; i < dim; i++) {
          let difference = point[i] - tile[j * dim + i];
          sum += difference * difference;
        }
        if (sum < bestSum) {
          best = tileStart + j;
          bestSum = sum;
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    assignments[pointIndex] = best;
  }
}
`;
