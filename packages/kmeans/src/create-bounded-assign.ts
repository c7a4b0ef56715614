import { createNearestCentroidSearch } from './create-nearest-centroid-search';
import type { AssignFunction } from './kmeans-options';
import type { Matrix } from './matrix';
import { createSortedCentroids } from './sorted-centroids';

// Bounds are trusted only with room to spare for f64 rounding: the relative part covers the error of each
// computed distance, the absolute part (times the data's scale) the error accumulated over many updates.
const relativeSlack = 1e-9;
const absoluteSlack = 1e-10;
// Yinyang's advice is about k/10 groups; more groups cost memory (count × groups f64) and per-point work.
const centroidsPerGroup = 10;
const maximumGroups = 128;
const maximumBounds = 1 << 24;
const groupingIterations = 5;
// With fewer points per centroid, Lloyd settles in a handful of iterations and the bounds never repay their
// set-up (measured: v = 8, k = 4096 on 5,632 vectors ran twice as long with bounds), so plain scans are used.
const minimumPointsPerCentroid = 4;

interface State {
  readonly points: Matrix;
  readonly k: number;
  readonly groups: number;
  /** `[groups + 1]` start of each group in `groupMembers`. */
  readonly groupStart: Uint32Array;
  /** `[k]` centroid indices, ascending within each group. */
  readonly groupMembers: Uint32Array;
  readonly groupOf: Uint32Array;
  readonly assignments: Uint32Array;
  /** `[count]` upper bound of the distance from each point to its centroid. */
  readonly upper: Float64Array;
  /** `[count, groups]` lower bound of the distance from each point to every other centroid of each group. */
  readonly lower: Float64Array;
  readonly pointRadius: number;
  previous: Float64Array;
}

/**
 * A stateful assignment step for Lloyd iterations over one fixed point set, after Yinyang k-means (Ding et
 * al., ICML 2015): centroids are split once into groups; each point keeps an upper bound on the distance to
 * its centroid and one lower bound per group; when centroids move, bounds move by the (group-wise largest)
 * drifts, and only groups whose bound no longer separates are searched. The first call is an exact sorted
 * scan, with each group's bounding ball as its first lower bound. Bounds are trusted only with a margin
 * well above f64 rounding, so every call returns exactly what
 * {@link assignNearest} returns for the same centroids, ties to the lower index included (a tied point never
 * passes a bound test).
 */
export function createBoundedAssign(): AssignFunction {
  let state: State | undefined;
  return (points, centroids) => {
    if (centroids.rows * minimumPointsPerCentroid > points.rows) {
      state = undefined;
      return createSortedCentroidsAssign(points, centroids);
    }
    if (state === undefined || state.points !== points || state.k !== centroids.rows) {
      state = initialize(points, centroids);
    } else {
      update(state, centroids);
    }
    state.previous = Float64Array.from(centroids.data);
    return state.assignments.slice();
  };
}

function createSortedCentroidsAssign(points: Matrix, centroids: Matrix): Uint32Array {
  const search = createSortedCentroids(centroids);
  const assignments = new Uint32Array(points.rows);
  for (let i = 0, offset = 0; i < points.rows; i++, offset += points.cols) {
    assignments[i] = search.nearest(points.data, offset);
  }
  return assignments;
}

function initialize(points: Matrix, centroids: Matrix): State {
  const count = points.rows;
  const dim = points.cols;
  const k = centroids.rows;
  const data = points.data;
  const groups = Math.max(
    1,
    Math.min(maximumGroups, Math.round(k / centroidsPerGroup), Math.floor(maximumBounds / Math.max(count, 1))),
  );
  const groupOf = groupCentroids(centroids, groups);
  const groupStart = new Uint32Array(groups + 1);
  for (let c = 0; c < k; c++) groupStart[groupOf[c] + 1]++;
  for (let g = 0; g < groups; g++) groupStart[g + 1] += groupStart[g];
  const groupMembers = new Uint32Array(k);
  const fill = groupStart.slice(0, groups);
  for (let c = 0; c < k; c++) groupMembers[fill[groupOf[c]]++] = c;

  // Each group's bounding ball gives every point a first lower bound without visiting the members.
  const centers = new Float64Array(groups * dim);
  const radii = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const size = groupStart[g + 1] - groupStart[g];
    if (size === 0) continue;
    for (let m = groupStart[g]; m < groupStart[g + 1]; m++) {
      for (let j = 0; j < dim; j++) centers[g * dim + j] += centroids.data[groupMembers[m] * dim + j];
    }
    for (let j = 0; j < dim; j++) centers[g * dim + j] /= size;
    for (let m = groupStart[g]; m < groupStart[g + 1]; m++) {
      const radius = Math.sqrt(squaredDistance(centroids.data, groupMembers[m] * dim, centers, g * dim, dim));
      if (radius > radii[g]) radii[g] = radius;
    }
  }

  const state: State = {
    points,
    k,
    groups,
    groupStart,
    groupMembers,
    groupOf,
    assignments: new Uint32Array(count),
    upper: new Float64Array(count),
    lower: new Float64Array(count * groups),
    pointRadius: maxNorm(data, count, dim),
    previous: new Float64Array(0),
  };
  // The sorted scan finds the nearest centroid exactly; each group's bounding ball bounds its members.
  const search = createSortedCentroids(centroids);
  const { assignments, upper, lower } = state;
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const nearest = search.nearest(data, offset);
    assignments[i] = nearest;
    upper[i] = Math.sqrt(squaredDistance(data, offset, centroids.data, nearest * dim, dim));
    const row = i * groups;
    for (let g = 0; g < groups; g++) {
      const empty = groupStart[g + 1] === groupStart[g];
      const gap = Math.sqrt(squaredDistance(data, offset, centers, g * dim, dim)) - radii[g];
      lower[row + g] = empty ? Infinity : gap > 0 ? gap : 0;
    }
  }
  return state;
}

function update(state: State, centroids: Matrix): void {
  const { points, k, groups, groupOf, assignments, upper, lower, previous } = state;
  const count = points.rows;
  const dim = points.cols;
  const data = points.data;
  const centroidData = centroids.data;

  const drift = new Float64Array(k);
  const groupDrift = new Float64Array(groups);
  for (let c = 0; c < k; c++) {
    const value = Math.sqrt(squaredDistance(centroidData, c * dim, previous, c * dim, dim));
    drift[c] = value;
    if (value > groupDrift[groupOf[c]]) groupDrift[groupOf[c]] = value;
  }
  const slack = absoluteSlack * (state.pointRadius + maxNorm(centroidData, k, dim));
  const searcher = createGroupSearch(state, centroids, slack);

  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const row = i * groups;
    let nearestOther = Infinity;
    let nearestGroup = 0;
    for (let g = 0; g < groups; g++) {
      const value = lower[row + g] - groupDrift[g];
      lower[row + g] = value;
      if (value < nearestOther) {
        nearestOther = value;
        nearestGroup = g;
      }
    }
    const assigned = assignments[i];
    const up = upper[i] + drift[assigned];
    if (up * (1 + relativeSlack) + slack < nearestOther) {
      upper[i] = up;
      continue;
    }
    const assignedDistance = squaredDistance(data, offset, centroidData, assigned * dim, dim);
    upper[i] = Math.sqrt(assignedDistance);
    if (upper[i] * (1 + relativeSlack) + slack < nearestOther) continue;
    searcher(i, offset, assigned, assignedDistance, nearestGroup);
  }
}

/**
 * A function that finishes the assignment of one point: it visits the groups (`startGroup` first) whose lower
 * bound does not clear the best distance so far by `slack`, computes exact distances there, and refreshes
 * the bounds.
 * `assigned` is the point's previous centroid and `assignedDistance` its exact squared distance to it.
 */
function createGroupSearch(
  state: State,
  centroids: Matrix,
  slack: number,
): (point: number, offset: number, assigned: number, assignedDistance: number, startGroup: number) => void {
  const { points, groups, groupStart, groupMembers, groupOf, assignments, upper, lower } = state;
  const dim = points.cols;
  const data = points.data;
  const centroidData = centroids.data;
  const searched = new Uint8Array(groups);
  const groupFirst = new Float64Array(groups);
  const groupFirstIndex = new Int32Array(groups);
  const groupSecond = new Float64Array(groups);

  return (point, offset, assigned, assignedDistance, startGroup) => {
    const row = point * groups;
    let best = assigned;
    let bestDistance = assignedDistance;
    searched.fill(0);
    for (let step = 0; step < groups; step++) {
      const g = step === 0 ? startGroup : step <= startGroup ? step - 1 : step;
      if (Math.sqrt(bestDistance) * (1 + relativeSlack) + slack < lower[row + g]) continue;
      searched[g] = 1;
      // The two smallest (lower bounds of) distances in the group, the first with its index.
      let first = Infinity;
      let firstIndex = -1;
      let second = Infinity;
      for (let m = groupStart[g]; m < groupStart[g + 1]; m++) {
        const c = groupMembers[m];
        const limit = bestDistance > second ? bestDistance : second;
        const base = c * dim;
        let distance = 0;
        let j = 0;
        // Checked every 4 terms; a partial sum that already exceeds the limit is kept as this centroid's bound.
        for (; j + 4 <= dim && distance <= limit; j += 4) {
          const d0 = data[offset + j] - centroidData[base + j];
          const d1 = data[offset + j + 1] - centroidData[base + j + 1];
          const d2 = data[offset + j + 2] - centroidData[base + j + 2];
          const d3 = data[offset + j + 3] - centroidData[base + j + 3];
          distance = distance + d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
        }
        if (distance <= limit) {
          for (; j < dim; j++) {
            const d = data[offset + j] - centroidData[base + j];
            distance += d * d;
          }
        }
        if (j === dim && (distance < bestDistance || (distance === bestDistance && c < best))) {
          best = c;
          bestDistance = distance;
        }
        if (distance < first || (distance === first && c < firstIndex)) {
          second = first;
          first = distance;
          firstIndex = c;
        } else if (distance < second) {
          second = distance;
        }
      }
      groupFirst[g] = first;
      groupFirstIndex[g] = firstIndex;
      groupSecond[g] = second;
    }
    for (let g = 0; g < groups; g++) {
      if (!searched[g]) continue;
      lower[row + g] = Math.sqrt(groupFirstIndex[g] === best ? groupSecond[g] : groupFirst[g]);
    }
    if (best !== assigned) {
      const oldGroup = groupOf[assigned];
      // The old centroid is now one of the "other" centroids of its group.
      const oldDistance = Math.sqrt(assignedDistance);
      if (!searched[oldGroup] && oldDistance < lower[row + oldGroup]) lower[row + oldGroup] = oldDistance;
    }
    assignments[point] = best;
    upper[point] = Math.sqrt(bestDistance);
  };
}

/** Splits the centroids into `groups` spatial groups with a few deterministic Lloyd iterations. */
function groupCentroids(centroids: Matrix, groups: number): Uint32Array {
  const k = centroids.rows;
  const dim = centroids.cols;
  if (groups === 1) return new Uint32Array(k);
  const centers = new Float32Array(groups * dim);
  for (let g = 0; g < groups; g++) {
    const from = Math.floor((g * k) / groups) * dim;
    centers.set(centroids.data.subarray(from, from + dim), g * dim);
  }
  let groupOf: Uint32Array = new Uint32Array(k);
  for (let iteration = 0; iteration < groupingIterations; iteration++) {
    groupOf = createNearestCentroidSearch({ data: centers, rows: groups, cols: dim }).assign(centroids);
    const sums = new Float64Array(groups * dim);
    const sizes = new Uint32Array(groups);
    for (let c = 0; c < k; c++) {
      sizes[groupOf[c]]++;
      for (let j = 0; j < dim; j++) sums[groupOf[c] * dim + j] += centroids.data[c * dim + j];
    }
    for (let g = 0; g < groups; g++) {
      if (sizes[g] === 0) continue;
      for (let j = 0; j < dim; j++) centers[g * dim + j] = sums[g * dim + j] / sizes[g];
    }
  }
  return groupOf;
}

function squaredDistance(a: ArrayLike<number>, offsetA: number, b: ArrayLike<number>, offsetB: number, dim: number): number {
  let sum = 0;
  for (let j = 0; j < dim; j++) {
    const d = a[offsetA + j] - b[offsetB + j];
    sum += d * d;
  }
  return sum;
}

function maxNorm(data: ArrayLike<number>, count: number, dim: number): number {
  let largest = 0;
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += data[offset + j] * data[offset + j];
    if (sum > largest) largest = sum;
  }
  return Math.sqrt(largest);
}
