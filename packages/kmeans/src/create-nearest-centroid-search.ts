import { type Matrix, validateMatrix } from './matrix';
import { createSortedCentroids } from './sorted-centroids';

/**
 * A snapshot of `[k, dim]` centroids prepared for repeated nearest-centroid queries. Results are identical
 * to a brute-force scan in f64 with ties to the lower index; only the amount of work differs.
 */
export interface NearestCentroidSearch {
  /** Number of centroids k. */
  readonly count: number;
  /** Vector length. */
  readonly dim: number;
  /**
   * Index of the nearest centroid to `vector[offset .. offset + dim)` (f32 or f64), ties to the lower index.
   * Does not validate its arguments: it is meant for inner loops.
   */
  nearest(vector: Float32Array | Float64Array, offset?: number): number;
  /**
   * `[points.rows]` nearest-centroid indices (u32) of `points` (`[count, dim]` f32).
   * @throws {RangeError} if `points.cols` differs from `dim`.
   */
  assign(points: Matrix): Uint32Array;
}

/**
 * Prepares `centroids` for many nearest-centroid queries: the centroids are sorted along the coordinate in
 * which they spread most, and a query scans outwards from its own position on that axis, stopping once the
 * gap on that single coordinate already exceeds the best distance found (each term of the f64 distance sum
 * is non-negative, so the pruning is exact). Candidates are also abandoned as soon as their partial sum
 * exceeds the best distance. The centroids are copied: later changes to `centroids.data` do not affect it.
 *
 * @param centroids - `[k, dim]` f32, k ≥ 1, finite.
 * @throws {RangeError} if `centroids` is malformed or empty.
 */
export function createNearestCentroidSearch(centroids: Matrix): NearestCentroidSearch {
  validateMatrix('createNearestCentroidSearch', 'centroids', centroids);
  const count = centroids.rows;
  const dim = centroids.cols;
  if (count === 0) throw new RangeError('createNearestCentroidSearch: centroids must not be empty (got 0 rows)');

  const sorted = createSortedCentroids(centroids);
  const nearest = (vector: Float32Array | Float64Array, offset = 0): number => sorted.nearest(vector, offset);
  const assign = (points: Matrix): Uint32Array => {
    validateMatrix('assign', 'points', points);
    if (points.cols !== dim) {
      throw new RangeError(`assign: points and centroids must have the same width (got ${points.cols} and ${dim})`);
    }
    const assignments = new Uint32Array(points.rows);
    const data = points.data;
    for (let point = 0, offset = 0; point < points.rows; point++, offset += dim) {
      assignments[point] = sorted.nearest(data, offset);
    }
    return assignments;
  };
  return { count, dim, nearest, assign };
}
