import { createNearestCentroidSearch } from './create-nearest-centroid-search';
import { type Matrix, validateMatrix } from './matrix';

/**
 * Index of the nearest centroid (squared Euclidean distance, summed in f64) for every point. Ties go to the
 * lower centroid index. The result equals a brute-force scan exactly; internally the centroids are sorted
 * along one axis so most candidates are never visited (see {@link createNearestCentroidSearch}).
 *
 * @param points - `[count, dim]` f32 vectors to assign.
 * @param centroids - `[k, dim]` f32 codebook entries, k ≥ 1, finite.
 * @returns `[count]` u32 centroid indices.
 * @throws {RangeError} if the widths differ, a matrix is malformed or there are no centroids.
 */
export function assignNearest(points: Matrix, centroids: Matrix): Uint32Array {
  validateMatrix('assignNearest', 'points', points);
  validateMatrix('assignNearest', 'centroids', centroids);
  if (points.cols !== centroids.cols) {
    throw new RangeError(
      `assignNearest: points and centroids must have the same width (got ${points.cols} and ${centroids.cols})`,
    );
  }
  if (centroids.rows === 0) throw new RangeError('assignNearest: centroids must not be empty (got 0 rows)');
  return createNearestCentroidSearch(centroids).assign(points);
}
