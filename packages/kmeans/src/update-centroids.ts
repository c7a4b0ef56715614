/** Per-cluster f64 sums of an M-step, kept so that empty-cluster repair can move single points. */
export interface ClusterSums {
  /** `[k, dim]` Σ wᵢxᵢ per cluster. */
  readonly sums: Float64Array;
  /** `[k]` Σ wᵢ per cluster. */
  readonly totals: Float64Array;
}

/**
 * The M-step: each centroid becomes the weighted mean of its points, accumulated in f64 in point order and
 * rounded once to f32. A cluster with zero total weight keeps its previous centroid (it is repaired later).
 */
export function updateCentroids(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  assignments: Uint32Array,
  previous: Float32Array,
  k: number,
): { centroids: Float32Array } & ClusterSums {
  const sums = new Float64Array(k * dim);
  const totals = new Float64Array(k);
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const weight = weights[i];
    if (weight === 0) continue;
    const cluster = assignments[i];
    totals[cluster] += weight;
    const base = cluster * dim;
    for (let j = 0; j < dim; j++) sums[base + j] += weight * points[offset + j];
  }
  const centroids = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) {
    const base = c * dim;
    const total = totals[c];
    if (total > 0) {
      for (let j = 0; j < dim; j++) centroids[base + j] = sums[base + j] / total;
    } else {
      for (let j = 0; j < dim; j++) centroids[base + j] = previous[base + j];
    }
  }
  return { centroids, sums, totals };
}
