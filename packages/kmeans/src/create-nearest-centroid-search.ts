import { type Matrix, validateMatrix } from './matrix';
import { scanNearest } from './nearest-centroid';
import { widestAxis } from './widest-axis';

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

// Below this many centroids, sorting and bisection cost more than they prune.
const minimumSortedCount = 32;

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

  const assign = (nearest: (vector: Float32Array | Float64Array, offset: number) => number) => (points: Matrix) => {
    validateMatrix('assign', 'points', points);
    if (points.cols !== dim) {
      throw new RangeError(`assign: points and centroids must have the same width (got ${points.cols} and ${dim})`);
    }
    const assignments = new Uint32Array(points.rows);
    const data = points.data;
    for (let point = 0, offset = 0; point < points.rows; point++, offset += dim) {
      assignments[point] = nearest(data, offset);
    }
    return assignments;
  };

  if (count < minimumSortedCount) {
    const data = Float64Array.from(centroids.data);
    const nearest = (vector: Float32Array | Float64Array, offset = 0): number =>
      scanNearest(vector, offset, data, count, dim);
    return { count, dim, nearest, assign: assign(nearest) };
  }

  const axis = widestAxis(centroids.data, count, dim);
  const order = new Uint32Array(count);
  for (let c = 0; c < count; c++) order[c] = c;
  const source = centroids.data;
  order.sort((a, b) => source[a * dim + axis] - source[b * dim + axis] || a - b);
  const keys = new Float64Array(count);
  const sorted = new Float64Array(count * dim);
  for (let s = 0; s < count; s++) {
    const from = order[s] * dim;
    keys[s] = source[from + axis];
    for (let j = 0; j < dim; j++) sorted[s * dim + j] = source[from + j];
  }
  const nearest = (vector: Float32Array | Float64Array, offset = 0): number =>
    searchSorted(vector, offset, keys, sorted, order, count, dim, axis);
  return { count, dim, nearest, assign: assign(nearest) };
}


function searchSorted(
  vector: ArrayLike<number>,
  offset: number,
  keys: Float64Array,
  sorted: Float64Array,
  order: Uint32Array,
  count: number,
  dim: number,
  axis: number,
): number {
  const key = vector[offset + axis];
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle] < key) low = middle + 1;
    else high = middle;
  }
  let down = low - 1;
  let up = low;
  let best = 0;
  let bestIndex = count;
  let bestDistance = Infinity;
  while (down >= 0 || up < count) {
    // (x_axis − c_axis)² is computed exactly as the matching term of the distance, so it is a true lower
    // bound of every later candidate's computed distance on that side.
    const gapDown = down >= 0 ? key - keys[down] : Infinity;
    const gapUp = up < count ? keys[up] - key : Infinity;
    let s: number;
    if (gapDown <= gapUp) {
      if (!(gapDown * gapDown <= bestDistance)) break;
      s = down--;
    } else {
      if (!(gapUp * gapUp <= bestDistance)) break;
      s = up++;
    }
    const base = s * dim;
    let distance = 0;
    for (let j = 0; j < dim; j++) {
      const d = vector[offset + j] - sorted[base + j];
      distance += d * d;
      if (distance > bestDistance) break;
    }
    if (distance < bestDistance || (distance === bestDistance && order[s] < bestIndex)) {
      bestDistance = distance;
      bestIndex = order[s];
      best = bestIndex;
    }
  }
  return best;
}
