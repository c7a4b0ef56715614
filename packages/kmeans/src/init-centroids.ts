import type { KmeansInit } from './kmeans-options';

/**
 * `[k, dim]` f32 starting centroids, each a copy of one observation. `'random'` picks k distinct points
 * uniformly (among those with positive weight when there are at least k of them); `'kmeans++'` picks the
 * first point with probability ∝ wᵢ and each next one with probability ∝ wᵢ·D(xᵢ)², D being the distance to
 * the nearest centroid picked so far. All sums run in f64 in point order, so the choice is reproducible.
 */
export function initCentroids(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  k: number,
  init: KmeansInit,
  random: () => number,
): Float32Array {
  const chosen = init === 'random' ? pickRandom(weights, count, k, random) : pickPlusPlus(points, count, dim, weights, k, random);
  const centroids = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) centroids.set(points.subarray(chosen[c] * dim, chosen[c] * dim + dim), c * dim);
  return centroids;
}

function pickRandom(weights: Float64Array, count: number, k: number, random: () => number): Uint32Array {
  let positive = 0;
  for (let i = 0; i < count; i++) if (weights[i] > 0) positive++;
  const pool = new Uint32Array(positive >= k ? positive : count);
  if (positive >= k) {
    for (let i = 0, n = 0; i < count; i++) if (weights[i] > 0) pool[n++] = i;
  } else {
    for (let i = 0; i < count; i++) pool[i] = i;
  }
  // Partial Fisher–Yates: the first k slots become a uniform sample without replacement.
  for (let c = 0; c < k; c++) {
    const swap = c + Math.floor(random() * (pool.length - c));
    const value = pool[swap];
    pool[swap] = pool[c];
    pool[c] = value;
  }
  return pool.slice(0, k);
}

function pickPlusPlus(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  k: number,
  random: () => number,
): Uint32Array {
  const chosen = new Uint32Array(k);
  const nearest = new Float64Array(count).fill(Infinity);
  const scores = new Float64Array(count);
  for (let c = 0; c < k; c++) {
    let total = 0;
    for (let i = 0; i < count; i++) {
      // The first pick is weight-proportional: every D(xᵢ) is still infinite.
      const score = c === 0 ? weights[i] : weights[i] * nearest[i];
      scores[i] = score;
      total += score;
    }
    let pick = -1;
    if (total > 0 && Number.isFinite(total)) {
      pick = sample(scores, count, total * random());
    } else {
      // Every weighted point already coincides with a centroid (fewer distinct points than k): repeat one.
      pick = Math.floor(random() * count);
    }
    chosen[c] = pick;
    const base = pick * dim;
    for (let i = 0, offset = 0; i < count; i++, offset += dim) {
      let distance = 0;
      for (let j = 0; j < dim; j++) {
        const d = points[offset + j] - points[base + j];
        distance += d * d;
      }
      if (distance < nearest[i]) nearest[i] = distance;
    }
  }
  return chosen;
}

/** First index whose running sum of `scores` exceeds `target`, skipping zero scores. */
function sample(scores: Float64Array, count: number, target: number): number {
  let running = 0;
  let last = -1;
  for (let i = 0; i < count; i++) {
    if (scores[i] <= 0) continue;
    running += scores[i];
    last = i;
    if (running > target) return i;
  }
  // Rounding can leave target just above the final running sum.
  return last;
}
