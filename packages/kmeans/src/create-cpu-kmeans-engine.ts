import { createBoundedAssign } from './create-bounded-assign';
import type {
  AsyncKmeansEngine,
  AsyncKmeansEngineFactory,
  KmeansClusterMembers,
  KmeansEngine,
  KmeansEngineFactory,
  KmeansEngineInput,
  KmeansEngineStep,
} from './kmeans-engine';
import type { AssignFunction, AsyncAssignFunction } from './kmeans-options';
import { describe } from './matrix';

/**
 * The reference {@link KmeansEngine}: every sum in f64, in point order, so `kmeans` is bit-reproducible with
 * it, and the twin that GPU engines are compared against. The assignment step is `assign` (default: the exact
 * bounded search that `kmeans` uses, which returns what `assignNearest` returns).
 *
 * @param options - `assign`: the assignment step, `(points [count, dim] f32, centroids [k, dim] f32) => [count]
 *   u32`; its results are checked (a `Uint32Array` of one index below k per point).
 * @returns a factory for `options.engine` of `kmeans` or `kmeansAsync`.
 * @throws {TypeError} if `options.assign` is not a function.
 */
export function createCpuKmeansEngine(options: { readonly assign?: AssignFunction } = {}): KmeansEngineFactory {
  if (options.assign !== undefined && typeof options.assign !== 'function') {
    throw new TypeError(`createCpuKmeansEngine: assign must be a function (got ${describe(options.assign)})`);
  }
  return cpuEngineFactory('createCpuKmeansEngine', options.assign);
}

/** The CPU engine, with `fn` naming the caller in the errors about `assign`'s results. */
export function cpuEngineFactory(fn: string, assign: AssignFunction | undefined): KmeansEngineFactory {
  // With a synchronous assignment step every operation returns synchronously.
  return (input) => createCpuEngine(fn, assign ?? createBoundedAssign(), input, true) as KmeansEngine;
}

/** The CPU engine over an assignment step that may return a promise (`kmeansAsync`'s `assign`). */
export function asyncCpuEngineFactory(fn: string, assign: AsyncAssignFunction | undefined): AsyncKmeansEngineFactory {
  return (input) => createCpuEngine(fn, assign ?? createBoundedAssign(), input, false);
}

function createCpuEngine(
  fn: string,
  assign: AsyncAssignFunction,
  { points, weights, k }: KmeansEngineInput,
  synchronous: boolean,
): AsyncKmeansEngine {
  const count = points.rows;
  const dim = points.cols;
  const data = points.data;
  let current: Uint32Array | undefined;
  return {
    step(centroids: Float32Array): KmeansEngineStep | Promise<KmeansEngineStep> {
      const finish = (result: Uint32Array): KmeansEngineStep => {
        const next = checkAssignments(fn, result, count, k);
        const objective = weightedCost(data, count, dim, weights, next, centroids);
        const { sums, totals } = sumClusters(data, count, dim, weights, next, k);
        const changed = current === undefined ? count : countChanged(current, next);
        current = next;
        return { sums, totals, objective, changed };
      };
      const result = assign(points, { data: centroids, rows: k, cols: dim });
      if (!isPromiseLike(result)) return finish(result);
      if (synchronous) throw new TypeError(`${fn}: assign returned a promise; use kmeansAsync for an asynchronous assignment step`);
      return Promise.resolve(result).then(finish);
    },
    clusterCosts(centroids: Float32Array): Float64Array {
      const assignments = assigned(current);
      const costs = new Float64Array(k);
      for (let i = 0, offset = 0; i < count; i++, offset += dim) {
        costs[assignments[i]] += weights[i] * squaredDistance(data, offset, centroids, assignments[i] * dim, dim);
      }
      return costs;
    },
    clusterMembers(clusters: Uint32Array, centroids: Float32Array): KmeansClusterMembers {
      const assignments = assigned(current);
      const slot = new Int32Array(k).fill(-1);
      clusters.forEach((cluster, index) => (slot[cluster] = index));
      const offsets = new Uint32Array(clusters.length + 1);
      for (let i = 0; i < count; i++) if (slot[assignments[i]] >= 0) offsets[slot[assignments[i]] + 1]++;
      for (let s = 0; s < clusters.length; s++) offsets[s + 1] += offsets[s];
      const members = new Uint32Array(offsets[clusters.length]);
      const costs = new Float64Array(members.length);
      const fill = offsets.slice(0, clusters.length);
      for (let i = 0, offset = 0; i < count; i++, offset += dim) {
        const s = slot[assignments[i]];
        if (s < 0) continue;
        members[fill[s]] = i;
        costs[fill[s]++] = weights[i] * squaredDistance(data, offset, centroids, assignments[i] * dim, dim);
      }
      return { offsets, points: members, costs };
    },
    assignments: () => assigned(current),
  };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function assigned(current: Uint32Array | undefined): Uint32Array {
  if (current === undefined) throw new Error('kmeans engine: no step has run yet');
  return current;
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
    total += weights[i] * squaredDistance(points, offset, centroids, assignments[i] * dim, dim);
  }
  return total;
}

/** Per-cluster Σ wᵢxᵢ and Σ wᵢ, accumulated in f64 in point order (zero-weight points skipped). */
function sumClusters(
  points: Float32Array,
  count: number,
  dim: number,
  weights: Float64Array,
  assignments: Uint32Array,
  k: number,
): { sums: Float64Array; totals: Float64Array } {
  const sums = new Float64Array(k * dim);
  const totals = new Float64Array(k);
  for (let i = 0, offset = 0; i < count; i++, offset += dim) {
    const weight = weights[i];
    if (weight === 0) continue;
    const cluster = assignments[i];
    totals[cluster] += weight;
    const base = cluster * dim;
    for (let j = 0; j < dim; j++) sums[base + j] += weight * points[offset + j];
  }
  return { sums, totals };
}

function squaredDistance(points: Float32Array, offset: number, centroids: Float32Array, base: number, dim: number): number {
  let distance = 0;
  for (let j = 0; j < dim; j++) {
    const d = points[offset + j] - centroids[base + j];
    distance += d * d;
  }
  return distance;
}

function countChanged(previous: Uint32Array, next: Uint32Array): number {
  let changed = 0;
  for (let i = 0; i < next.length; i++) if (previous[i] !== next[i]) changed++;
  return changed;
}
