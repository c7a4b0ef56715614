/**
 * The M-step of k-means on the device, for iterations that never leave it: every cluster with positive total
 * weight moves to its weighted mean Σwx / Σw, both read from the reduction's 64-bit fixed-point accumulators (the
 * same units, so the quotient is the centroid in the points' scaled units); a cluster with zero total keeps its
 * centroid and is counted into `stats[3]` (the host repairs it). The host's `updateCentroids` divides the same
 * integers in f64 and rounds once; here each integer is rounded to f32 and the quotient too (a few ulps apart).
 *
 * One invocation per cluster.
 *
 * 0 accumulators  [k, dim + 1] × (low, high) u32, two's complement   read
 * 1 centroids     [k, dim] f32                                    read_write
 * 2 stats         [4] u32: word 3 += empty clusters                read_write (atomic)
 * 3 params        Params                                          uniform
 */
export const kmeansUpdateWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override dim: u32 = 8;

struct Params {
  k: u32,
}

@group(0) @binding(0) var<storage, read> accumulators: array<u32>;
@group(0) @binding(1) var<storage, read_write> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

// The f32 nearest (to within one rounding per word) to the two's complement integer (low, high): the magnitude is
// formed first, so that the two words never cancel.
fn fromFixed(low: u32, high: u32) -> f32 {
  let negative = (high & 0x80000000u) != 0u;
  var magnitudeLow = low;
  var magnitudeHigh = high;
  if (negative) {
    magnitudeLow = ~low + 1u;
    magnitudeHigh = ~high + select(0u, 1u, magnitudeLow == 0u);
  }
  let magnitude = f32(magnitudeHigh) * 0x1p32f + f32(magnitudeLow);
  return select(magnitude, -magnitude, negative);
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let cluster = id.x;
  if (cluster >= params.k) {
    return;
  }
  let base = cluster * (dim + 1u) * 2u;
  let total = fromFixed(accumulators[base + 2u * dim], accumulators[base + 2u * dim + 1u]);
  if (!(total > 0.0)) {
    atomicAdd(&stats[3], 1u);
    return;
  }
  for (var j = 0u; j < dim; j++) {
    centroids[cluster * dim + j] = fromFixed(accumulators[base + 2u * j], accumulators[base + 2u * j + 1u]) / total;
  }
}
`;
