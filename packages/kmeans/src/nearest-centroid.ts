import { type Matrix, validateMatrix } from './matrix';

/**
 * Index of the centroid nearest to one vector (squared Euclidean distance, summed in f64 over the
 * coordinates in order), ties to the lower index. A brute-force scan; for many vectors against the same
 * centroids use {@link createNearestCentroidSearch} or {@link assignNearest}.
 *
 * @param vector - f32 or f64; the vector is `vector[offset .. offset + centroids.cols)`.
 * @param centroids - `[k, dim]` f32, k ≥ 1.
 * @param offset - Index of the vector's first element in `vector`. Default 0.
 * @returns The centroid index in `[0, k)`; 0 when every distance is NaN.
 * @throws {RangeError} if there are no centroids or the vector does not fit in `vector` at `offset`.
 */
export function nearestCentroid(vector: Float32Array | Float64Array, centroids: Matrix, offset = 0): number {
  validateMatrix('nearestCentroid', 'centroids', centroids);
  if (centroids.rows === 0) throw new RangeError('nearestCentroid: centroids must not be empty (got 0 rows)');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + centroids.cols > vector.length) {
    throw new RangeError(
      `nearestCentroid: offset must leave room for ${centroids.cols} values in vector (got offset = ${offset}, length = ${vector.length})`,
    );
  }
  return scanNearest(vector, offset, centroids.data, centroids.rows, centroids.cols);
}

/**
 * Brute-force nearest centroid with a partial-distance early exit. The early exit is exact: a running sum
 * of non-negative f64 terms never decreases, so a candidate abandoned once it exceeds the best distance
 * could never have won, not even a tie.
 */
export function scanNearest(
  vector: ArrayLike<number>,
  offset: number,
  centroids: ArrayLike<number>,
  count: number,
  dim: number,
): number {
  let best = 0;
  let bestDistance = Infinity;
  if (dim === 1) {
    const x0 = vector[offset];
    for (let c = 0; c < count; c++) {
      const d0 = x0 - centroids[c];
      const distance = d0 * d0;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    return best;
  }
  if (dim === 2) {
    const x0 = vector[offset];
    const x1 = vector[offset + 1];
    for (let c = 0, base = 0; c < count; c++, base += 2) {
      const d0 = x0 - centroids[base];
      const d1 = x1 - centroids[base + 1];
      const distance = d0 * d0 + d1 * d1;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    return best;
  }
  if (dim === 4) {
    const x0 = vector[offset];
    const x1 = vector[offset + 1];
    const x2 = vector[offset + 2];
    const x3 = vector[offset + 3];
    for (let c = 0, base = 0; c < count; c++, base += 4) {
      const d0 = x0 - centroids[base];
      const d1 = x1 - centroids[base + 1];
      const d2 = x2 - centroids[base + 2];
      const d3 = x3 - centroids[base + 3];
      const distance = d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    return best;
  }
  for (let c = 0, base = 0; c < count; c++, base += dim) {
    let distance = 0;
    let j = 0;
    // Check the running sum every 4 terms: frequent enough to cut work, rare enough not to cost branches.
    for (; j + 4 <= dim; j += 4) {
      const d0 = vector[offset + j] - centroids[base + j];
      const d1 = vector[offset + j + 1] - centroids[base + j + 1];
      const d2 = vector[offset + j + 2] - centroids[base + j + 2];
      const d3 = vector[offset + j + 3] - centroids[base + j + 3];
      distance = distance + d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
      if (distance > bestDistance) break;
    }
    if (distance > bestDistance) continue;
    for (; j < dim; j++) {
      const d0 = vector[offset + j] - centroids[base + j];
      distance += d0 * d0;
    }
    if (distance < bestDistance) {
      bestDistance = distance;
      best = c;
    }
  }
  return best;
}
