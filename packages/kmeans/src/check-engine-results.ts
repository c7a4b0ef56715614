import type { KmeansClusterMembers, KmeansEngineStep, KmeansIterations } from './kmeans-engine';
import { describe } from './matrix';

// A replaced engine is checked where its mistakes would otherwise turn into NaN centroids far away.

/** Checks the shapes of a {@link KmeansEngineStep}. */
export function checkStep(fn: string, step: KmeansEngineStep, count: number, k: number, dim: number): KmeansEngineStep {
  if (step === null || typeof step !== 'object') throw new TypeError(`${fn}: engine.step must return an object (got ${describe(step)})`);
  checkFloat64(fn, 'step().sums', step.sums, k * dim, '[k, dim]');
  checkFloat64(fn, 'step().totals', step.totals, k, '[k]');
  if (typeof step.objective !== 'number' || !(step.objective >= 0) || step.objective === Infinity) {
    throw new RangeError(`${fn}: engine.step().objective must be a finite number ≥ 0 (got ${describe(step.objective)})`);
  }
  if (!Number.isSafeInteger(step.changed) || step.changed < 0 || step.changed > count) {
    throw new RangeError(`${fn}: engine.step().changed must be an integer between 0 and ${count} (got ${describe(step.changed)})`);
  }
  return step;
}

/** Checks the shapes and values of {@link KmeansIterations} for `size` iterations over `count` points. */
export function checkIterations(fn: string, run: KmeansIterations, size: number, count: number): KmeansIterations {
  if (run === null || typeof run !== 'object') throw new TypeError(`${fn}: engine.iterate must return an object (got ${describe(run)})`);
  checkFloat64(fn, 'iterate().objectives', run.objectives, size, '[iterations]');
  for (const [name, values] of [['changed', run.changed], ['empty', run.empty]] as const) {
    if (!(values instanceof Uint32Array) || values.length !== size) {
      throw new TypeError(`${fn}: engine.iterate().${name} must be a Uint32Array of ${size} entries (got ${describe(values)})`);
    }
  }
  for (let j = 0; j < size; j++) {
    const objective = run.objectives[j];
    if (!(objective >= 0) || objective === Infinity) throw new RangeError(`${fn}: engine.iterate().objectives must be finite and ≥ 0 (got ${objective} at ${j})`);
    if (run.changed[j] > count) throw new RangeError(`${fn}: engine.iterate().changed must be at most ${count} (got ${run.changed[j]} at ${j})`);
  }
  return run;
}

/** Checks centroids an engine returns (`iteratedCentroids`): `[k, dim]` f32, finite. */
export function checkCentroids(fn: string, values: Float32Array, k: number, dim: number): Float32Array {
  if (!(values instanceof Float32Array) || values.length !== k * dim) {
    throw new TypeError(`${fn}: engine.iteratedCentroids must return a Float32Array [k, dim] of ${k * dim} entries (got ${describe(values)})`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${fn}: engine.iteratedCentroids must be finite (got ${values[i]} at ${i})`);
  }
  return values;
}

/** Checks the result of `clusterCosts`. */
export function checkClusterCosts(fn: string, costs: Float64Array, k: number): Float64Array {
  return checkFloat64(fn, 'clusterCosts()', costs, k, '[k]');
}

/** Checks the result of `clusterMembers` for the `requested` clusters. */
export function checkClusterMembers(fn: string, members: KmeansClusterMembers, requested: Uint32Array): KmeansClusterMembers {
  if (members === null || typeof members !== 'object') {
    throw new TypeError(`${fn}: engine.clusterMembers must return an object (got ${describe(members)})`);
  }
  const { offsets, points, costs } = members;
  if (!(offsets instanceof Uint32Array) || offsets.length !== requested.length + 1 || offsets[0] !== 0) {
    throw new TypeError(`${fn}: engine.clusterMembers().offsets must be a Uint32Array of ${requested.length + 1} entries from 0 (got ${describe(offsets)})`);
  }
  for (let i = 0; i < requested.length; i++) {
    if (offsets[i + 1] < offsets[i]) throw new RangeError(`${fn}: engine.clusterMembers().offsets must not decrease (at ${i + 1})`);
  }
  const total = offsets[requested.length];
  if (!(points instanceof Uint32Array) || points.length !== total) {
    throw new TypeError(`${fn}: engine.clusterMembers().points must be a Uint32Array of ${total} entries (got ${describe(points)})`);
  }
  checkFloat64(fn, 'clusterMembers().costs', costs, total, '[members]');
  return members;
}

function checkFloat64(fn: string, name: string, value: Float64Array, length: number, shape: string): Float64Array {
  if (!(value instanceof Float64Array) || value.length !== length) {
    throw new TypeError(`${fn}: engine.${name} must be a Float64Array ${shape} of ${length} entries (got ${describe(value)} of length ${
      (value as { length?: number } | undefined)?.length
    })`);
  }
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(value[i])) throw new RangeError(`${fn}: engine.${name} must be finite (got ${value[i]} at ${i})`);
  }
  return value;
}
