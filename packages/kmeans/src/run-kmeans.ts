import { createRandom } from './create-random';
import { initCentroids } from './init-centroids';
import type { KmeansAsyncOptions, KmeansResult } from './kmeans-options';
import { type Matrix, describe, validateMatrix } from './matrix';
import { repairEmptyClusters } from './repair-empty-clusters';
import { updateCentroids } from './update-centroids';

/**
 * Weighted Lloyd iterations as a generator: it yields centroids that need an assignment step and receives
 * the assignments back, so one body serves both the synchronous and the asynchronous entry points.
 */
export function* runKmeans(
  fn: string,
  points: Matrix,
  k: number,
  options: KmeansAsyncOptions,
): Generator<Matrix, KmeansResult, Uint32Array> {
  const { count, dim, weights, init, seed, maxIterations, tolerance } = validate(fn, points, k, options);
  const data = points.data;

  let centroids =
    options.initialCentroids !== undefined
      ? options.initialCentroids.data.slice()
      : initCentroids(data, count, dim, weights, k, init, createRandom(seed));

  let assignments = checkAssignments(fn, yield { data: centroids, rows: k, cols: dim }, count, k);
  let objective = weightedCost(data, count, dim, weights, assignments, centroids);
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations) {
    const update = updateCentroids(data, count, dim, weights, assignments, centroids, k);
    const repaired = repairEmptyClusters(data, count, dim, weights, assignments, update.centroids, update, k);
    iterations++;
    const next = checkAssignments(fn, yield { data: update.centroids, rows: k, cols: dim }, count, k);
    const nextObjective = weightedCost(data, count, dim, weights, next, update.centroids);
    options.onIteration?.(iterations, nextObjective);

    // Unchanged assignments without a repair mean the next update reproduces these centroids: a fixed point.
    const stable = repaired === 0 && sameAssignments(assignments, next);
    const change = Math.abs(objective - nextObjective);
    centroids = update.centroids;
    assignments = next;
    const previous = objective;
    objective = nextObjective;
    if (stable || objective === 0 || change <= tolerance * previous) {
      converged = true;
      break;
    }
  }
  return { centroids, assignments, iterations, objective, converged };
}

interface Validated {
  count: number;
  dim: number;
  weights: Float64Array;
  init: 'random' | 'kmeans++';
  seed: number;
  maxIterations: number;
  tolerance: number;
}

function validate(fn: string, points: Matrix, k: number, options: KmeansAsyncOptions): Validated {
  validateMatrix(fn, 'points', points);
  const count = points.rows;
  const dim = points.cols;
  if (count === 0) throw new RangeError(`${fn}: points must not be empty (got 0 rows)`);
  if (!Number.isSafeInteger(k) || k < 1 || k > count) {
    throw new RangeError(`${fn}: k must be between 1 and the number of points (got k = ${k}, points = ${count})`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
  }
  const data = points.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(
        `${fn}: points must be finite (got ${data[i]} at row ${Math.floor(i / dim)}, column ${i % dim})`,
      );
    }
  }

  const weights = new Float64Array(count);
  if (options.weights === undefined) {
    weights.fill(1);
  } else {
    const given = options.weights;
    if (!(given instanceof Float32Array || given instanceof Float64Array)) {
      throw new TypeError(`${fn}: weights must be a Float32Array or Float64Array (got ${describe(given)})`);
    }
    if (given.length !== count) {
      throw new RangeError(`${fn}: weights must have one entry per point (got ${given.length}, points = ${count})`);
    }
    let total = 0;
    for (let i = 0; i < count; i++) {
      const weight = given[i];
      if (!(weight >= 0) || weight === Infinity) {
        throw new RangeError(`${fn}: weights must be finite and non-negative (got ${weight} at point ${i})`);
      }
      weights[i] = weight;
      total += weight;
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new RangeError(`${fn}: weights must have a positive finite sum (got ${total})`);
    }
  }

  const init = options.init ?? 'random';
  if (init !== 'random' && init !== 'kmeans++') {
    throw new RangeError(`${fn}: init must be 'random' or 'kmeans++' (got ${describe(init)})`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${fn}: seed must be a non-negative safe integer (got ${describe(seed)})`);
  }
  const maxIterations = options.maxIterations ?? 100;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`${fn}: maxIterations must be a non-negative integer (got ${describe(maxIterations)})`);
  }
  const tolerance = options.tolerance ?? 1e-5;
  if (typeof tolerance !== 'number' || !(tolerance >= 0) || tolerance === Infinity) {
    throw new RangeError(`${fn}: tolerance must be a finite number ≥ 0 (got ${describe(tolerance)})`);
  }
  if (options.initialCentroids !== undefined) {
    const initial = options.initialCentroids;
    validateMatrix(fn, 'initialCentroids', initial);
    if (initial.rows !== k || initial.cols !== dim) {
      throw new RangeError(
        `${fn}: initialCentroids must be [k, dim] = [${k}, ${dim}] (got [${initial.rows}, ${initial.cols}])`,
      );
    }
    for (let i = 0; i < initial.data.length; i++) {
      if (!Number.isFinite(initial.data[i])) {
        throw new RangeError(`${fn}: initialCentroids must be finite (got ${initial.data[i]} at index ${i})`);
      }
    }
  }
  if (options.assign !== undefined && typeof options.assign !== 'function') {
    throw new TypeError(`${fn}: assign must be a function (got ${describe(options.assign)})`);
  }
  if (options.onIteration !== undefined && typeof options.onIteration !== 'function') {
    throw new TypeError(`${fn}: onIteration must be a function (got ${describe(options.onIteration)})`);
  }
  return { count, dim, weights, init, seed, maxIterations, tolerance };
}

/** Rejects what a replaced assignment step may return wrongly, before it can corrupt the sums. */
function checkAssignments(fn: string, assignments: Uint32Array, count: number, k: number): Uint32Array {
  if (!(assignments instanceof Uint32Array) || assignments.length !== count) {
    throw new TypeError(
      `${fn}: assign must return a Uint32Array with one index per point (got ${describe(assignments)} of length ${
        (assignments as { length?: number } | undefined)?.length
      }, points = ${count})`,
    );
  }
  for (let i = 0; i < count; i++) {
    if (assignments[i] >= k) {
      throw new RangeError(`${fn}: assign must return indices below k (got ${assignments[i]} at point ${i}, k = ${k})`);
    }
  }
  return assignments;
}

/** Σ wᵢ‖xᵢ − c(xᵢ)‖² in f64, in point order. */
function weightedCost(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  assignments: Uint32Array,
  centroids: Float32Array,
): number {
  let total = 0;
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const base = assignments[i] * dim;
    let distance = 0;
    for (let j = 0; j < dim; j++) {
      const d = points[offset + j] - centroids[base + j];
      distance += d * d;
    }
    total += weights[i] * distance;
  }
  return total;
}

function sameAssignments(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
