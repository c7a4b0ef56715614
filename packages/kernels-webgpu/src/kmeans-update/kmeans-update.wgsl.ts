/**
 * The M-step of k-means on the device, for iterations that never leave it: every cluster with positive total
 * weight moves to its weighted mean Σwx / Σw, both read from the reduction's 64-bit fixed-point accumulators (the
 * same units, so the quotient is the centroid in the points' scaled units); a cluster with zero total keeps its
 * centroid and is counted into `stats[3]` (the host repairs it). The quotient of the two integers is rounded once
 * to f32 by exact integer long division, so it is the f32 the host's `updateCentroids` gets from the same integers
 * (their f64 quotient rounded to f32), up to a double rounding within 2⁻⁵² of a midpoint: device batches follow
 * the host-driven iterations bit for bit in practice.
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

// 64-bit unsigned integers as vec2u (low, high).
fn negate64(value: vec2u) -> vec2u {
  let low = ~value.x + 1u;
  return vec2u(low, ~value.y + select(0u, 1u, low == 0u));
}

fn shiftLeft64(value: vec2u, bits: u32) -> vec2u {
  if (bits == 0u) {
    return value;
  }
  if (bits >= 32u) {
    return vec2u(0u, value.x << (bits - 32u));
  }
  return vec2u(value.x << bits, (value.y << bits) | (value.x >> (32u - bits)));
}

fn leadingZeros64(value: vec2u) -> u32 {
  return select(countLeadingZeros(value.y), 32u + countLeadingZeros(value.x), value.y == 0u);
}

fn lessThan64(a: vec2u, b: vec2u) -> bool {
  return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn subtract64(a: vec2u, b: vec2u) -> vec2u {
  return vec2u(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

// numerator / denominator (two's complement 64-bit integers, denominator > 0) rounded once to the nearest f32, ties
// to even: the f32 that the host's f64 quotient of the same integers rounds to, up to a double rounding that needs
// the exact quotient within 2⁻⁵² of a midpoint between two f32 values. Normalized long division: both magnitudes
// shifted to bit 63, 26 quotient bits and a sticky bit, then rounded to 24.
fn divideFixed(numerator: vec2u, denominator: vec2u) -> f32 {
  let negative = (numerator.y & 0x80000000u) != 0u;
  var a = select(numerator, negate64(numerator), negative);
  if (a.x == 0u && a.y == 0u) {
    return 0.0;
  }
  let shiftA = leadingZeros64(a);
  let shiftB = leadingZeros64(denominator);
  a = shiftLeft64(a, shiftA);
  let b = shiftLeft64(denominator, shiftB);
  // a / b ∈ (1/2, 2): quotient bit i (from 0) weighs 2^-i. The remainder stays below b < 2^64, but doubling it
  // needs a 65th bit, kept in carry.
  var quotient = 0u;
  var remainder = a;
  for (var bit = 0u; bit < 26u; bit++) {
    var carry = false;
    if (bit > 0u) {
      carry = (remainder.y & 0x80000000u) != 0u;
      remainder = shiftLeft64(remainder, 1u);
    }
    quotient = quotient << 1u;
    if (carry || !lessThan64(remainder, b)) {
      remainder = subtract64(remainder, b);
      quotient = quotient | 1u;
    }
  }
  // quotient = floor(a / b · 2^25), 25 or 26 significant bits; keep 24, round half to even with the sticky bit.
  let sticky = remainder.x != 0u || remainder.y != 0u;
  let drop = select(1u, 2u, quotient >= 0x2000000u);
  var mantissa = quotient >> drop;
  let guard = ((quotient >> (drop - 1u)) & 1u) != 0u;
  let below = sticky || (drop == 2u && (quotient & 1u) != 0u);
  if (guard && (below || (mantissa & 1u) != 0u)) {
    mantissa += 1u;
  }
  // value = mantissa · 2^(drop − 25) · 2^(shiftB − shiftA); a carry out of 24 bits stays exact in f32.
  let magnitude = ldexp(f32(mantissa), i32(drop) - 25 + i32(shiftB) - i32(shiftA));
  return select(magnitude, -magnitude, negative);
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let cluster = id.x;
  if (cluster >= params.k) {
    return;
  }
  let base = cluster * (dim + 1u) * 2u;
  let total = vec2u(accumulators[base + 2u * dim], accumulators[base + 2u * dim + 1u]);
  // Zero or negative (two's complement high bit): an empty cluster, as the host's !(total > 0).
  if ((total.x == 0u && total.y == 0u) || (total.y & 0x80000000u) != 0u) {
    atomicAdd(&stats[3], 1u);
    return;
  }
  for (var j = 0u; j < dim; j++) {
    centroids[cluster * dim + j] = divideFixed(vec2u(accumulators[base + 2u * j], accumulators[base + 2u * j + 1u]), total);
  }
}
`;
