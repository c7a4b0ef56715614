/**
 * Layout of the `state` buffer shared by the bounded assignment's kernels (u32 words, cleared before every
 * assignment): what the drift and movers kernels find about this iteration's centroids, and the length of each
 * chunk's list of points to scan.
 */
export const boundsState = {
  /** f32 bits of an upper bound on the largest centroid norm (atomic max of non-negative f32 bits). */
  maxNorm: 0,
  /** f32 bits of an upper bound on the drift of every centroid that is not a mover. */
  restDrift: 1,
  /** Number of movers (centroids listed with their coordinates in the movers buffer). */
  movers: 2,
  /** First of the per-chunk list lengths (one word per chunk). */
  listLengths: 4,
  /** Most chunks the layout has room for. */
  maxChunks: 60,
  /** First word of the drift histogram. */
  histogram: 64,
  /** Histogram bins: the top 11 bits of a non-negative f32 (exponent and 3 mantissa bits), ≤ 2039 in use. */
  bins: 2048,
  /** Words of the whole buffer. */
  words: 64 + 2048,
} as const;

/** Relative slack (2⁻¹⁸) applied to every bound, far above the few f32 roundings each one carries. */
export const boundsSlackWgsl = /* wgsl */ `
const boundUp = 1.0 + 0x1p-18f;
const boundDown = 1.0 - 0x1p-18f;
// Scores of the expanded form carry at most (dim + 6)·2⁻²⁴·(½‖c‖² + |x|·‖c‖) of rounding (the half norm's and the
// dot products' sums); twice (dim + 4)·2⁻²⁴ covers it, and 2⁻⁶⁰ covers flushed subnormals.
fn scoreError(dim: u32, pointNorm: f32, maxNorm: f32) -> f32 {
  return f32(dim + 4u) * 0x1p-23f * (0.5 * maxNorm * maxNorm + pointNorm * maxNorm) * boundUp + 0x1p-60f;
}
// Whether every other centroid's score provably exceeds the assigned one's: the distance to the assigned centroid
// is at most upper, to every other at least lower, and the squared gap beats 4 score errors.
fn separated(upper: f32, lower: f32, error: f32) -> bool {
  return lower > upper && (lower - upper) * (lower + upper) * boundDown > 4.0 * error;
}
`;
