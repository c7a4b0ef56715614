import { firstNonFinite } from './first-non-finite';
import type { KmeansAsyncOptions } from './kmeans-options';
import { type Matrix, describe, validateMatrix } from './matrix';

/** The arguments of `kmeans` / `kmeansAsync` after validation, weights widened to f64. */
export interface Validated {
  count: number;
  dim: number;
  weights: Float64Array;
  init: 'random' | 'kmeans++';
  seed: number;
  maxIterations: number;
  tolerance: number;
}

/**
 * Validates the arguments of `kmeans` / `kmeansAsync`.
 *
 * @throws {RangeError} / {TypeError} naming the parameter and what was expected.
 */
export function validateKmeans(fn: string, points: Matrix, k: number, options: KmeansAsyncOptions): Validated {
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
  const bad = firstNonFinite(data);
  if (bad !== -1) {
    throw new RangeError(
      `${fn}: points must be finite (got ${data[bad]} at row ${Math.floor(bad / dim)}, column ${bad % dim})`,
    );
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
    const badCentroid = firstNonFinite(initial.data);
    if (badCentroid !== -1) {
      throw new RangeError(
        `${fn}: initialCentroids must be finite (got ${initial.data[badCentroid]} at index ${badCentroid})`,
      );
    }
  }
  if (options.assign !== undefined && typeof options.assign !== 'function') {
    throw new TypeError(`${fn}: assign must be a function (got ${describe(options.assign)})`);
  }
  if (options.engine !== undefined && typeof options.engine !== 'function') {
    throw new TypeError(`${fn}: engine must be a function that creates an engine (got ${describe(options.engine)})`);
  }
  if (options.engine !== undefined && options.assign !== undefined) {
    throw new TypeError(`${fn}: give assign or engine, not both (an engine does its own assignment)`);
  }
  if (options.onIteration !== undefined && typeof options.onIteration !== 'function') {
    throw new TypeError(`${fn}: onIteration must be a function (got ${describe(options.onIteration)})`);
  }
  return { count, dim, weights, init, seed, maxIterations, tolerance };
}
