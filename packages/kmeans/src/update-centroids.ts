/**
 * The M-step: each centroid becomes its cluster's weighted mean `sums / totals`, computed in f64 and rounded
 * once to f32. A cluster with zero total weight keeps its previous centroid (it is repaired later).
 *
 * @param sums - `[k, dim]` f64 Σ wᵢxᵢ per cluster.
 * @param totals - `[k]` f64 Σ wᵢ per cluster.
 * @param previous - `[k, dim]` f32 centroids of the assignment step the sums come from.
 * @returns `[k, dim]` f32 new centroids.
 */
export function updateCentroids(sums: Float64Array, totals: Float64Array, previous: Float32Array, k: number, dim: number): Float32Array {
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
  return centroids;
}
