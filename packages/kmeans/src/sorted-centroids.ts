import type { Matrix } from './matrix';
import { scanNearest } from './nearest-centroid';
import { widestAxis } from './widest-axis';

// Below this many centroids, sorting and bisection cost more than they prune.
const minimumSortedCount = 32;

/** Exact nearest-centroid queries over a sorted copy of `[k, dim]` centroids. */
export interface SortedCentroids {
  nearest(vector: ArrayLike<number>, offset: number): number;
}

/**
 * Sorts a copy of the centroids along the coordinate in which they spread most. A query scans outwards from
 * its own position on that axis and stops once the gap on that coordinate alone exceeds the distance it
 * has to beat: (x_axis − c_axis)² is computed exactly as one term of the f64 distance sum, and a sum
 * of non-negative terms never decreases, so the pruning (and the partial-sum early exit) is exact. Results
 * equal a brute-force scan, ties to the lower index included. Below 32 centroids it is a plain scan.
 */
export function createSortedCentroids(centroids: Matrix): SortedCentroids {
  const count = centroids.rows;
  const dim = centroids.cols;
  const source = centroids.data;
  if (count < minimumSortedCount) {
    const data = Float64Array.from(source);
    return {
      nearest: (vector, offset) => scanNearest(vector, offset, data, count, dim),
    };
  }
  const axis = widestAxis(source, count, dim);
  const order = new Uint32Array(count);
  for (let c = 0; c < count; c++) order[c] = c;
  order.sort((a, b) => source[a * dim + axis] - source[b * dim + axis] || a - b);
  const keys = new Float64Array(count);
  const sorted = new Float64Array(count * dim);
  for (let s = 0; s < count; s++) {
    const from = order[s] * dim;
    keys[s] = source[from + axis];
    for (let j = 0; j < dim; j++) sorted[s * dim + j] = source[from + j];
  }
  return {
    nearest: (vector, offset) => searchSorted(vector, offset, keys, sorted, order, count, dim, axis),
  };
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
    let j = 0;
    // Checked every 4 terms: frequent enough to cut work, rare enough not to cost branches.
    for (; j + 4 <= dim && distance <= bestDistance; j += 4) {
      const d0 = vector[offset + j] - sorted[base + j];
      const d1 = vector[offset + j + 1] - sorted[base + j + 1];
      const d2 = vector[offset + j + 2] - sorted[base + j + 2];
      const d3 = vector[offset + j + 3] - sorted[base + j + 3];
      distance = distance + d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
    }
    if (distance <= bestDistance) {
      for (; j < dim; j++) {
        const d = vector[offset + j] - sorted[base + j];
        distance += d * d;
      }
    }
    if (distance < bestDistance || (distance === bestDistance && order[s] < bestIndex)) {
      bestDistance = distance;
      bestIndex = order[s];
      best = bestIndex;
    }
  }
  return best;
}
