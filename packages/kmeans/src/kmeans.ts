import { cpuEngineFactory } from './create-cpu-kmeans-engine';
import type { KmeansOptions, KmeansResult } from './kmeans-options';
import { type Matrix, describe } from './matrix';
import { runKmeans } from './run-kmeans';
import { validateKmeans } from './validate-kmeans';

/**
 * Weighted k-means (Lloyd's algorithm): minimizes Σ wᵢ‖xᵢ − c(xᵢ)‖² over k centroids. This is the codebook
 * initialization of VPTQ (paper §3.2.1), where wᵢ is the Hessian diagonal of the vector's column.
 *
 * Bit-reproducible: all sums run in f64 in a fixed order and randomness comes only from `seed`, so the same
 * inputs give byte-identical centroids and assignments on any machine. Clusters that lose all their weight
 * are repaired by splitting the cluster with the largest weighted SSE (see the package README).
 *
 * @param points - `[count, dim]` f32 observations, finite, count ≥ 1.
 * @param k - Number of clusters, 1 ≤ k ≤ count. Duplicate points are allowed; with fewer distinct points
 *   than k, some centroids are duplicates.
 * @param options - See {@link KmeansOptions}.
 * @returns `centroids` `[k, dim]` f32, `assignments` `[count]` u32, `iterations`, `objective` (f64 weighted
 *   SSE of the returned pair) and `converged`.
 * @throws {RangeError} for bad shapes, `k` out of range, non-finite points or weights, bad options, or an
 *   assignment step (or engine) returning out-of-range results.
 * @throws {TypeError} for arguments of the wrong type, or an engine that returns a promise (use `kmeansAsync`).
 */
export function kmeans(points: Matrix, k: number, options: KmeansOptions = {}): KmeansResult {
  const validated = validateKmeans('kmeans', points, k, options);
  const engine = synchronous((options.engine ?? cpuEngineFactory('kmeans', options.assign))({ points, weights: validated.weights, k }));
  try {
    const run = runKmeans('kmeans', points, k, options, validated);
    let step = run.next();
    while (!step.done) step = run.next(synchronous(step.value(engine)));
    return step.value;
  } finally {
    engine.destroy?.();
  }
}

function synchronous<T>(value: T): T {
  if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    throw new TypeError(`kmeans: the engine returned a promise (got ${describe(value)}); use kmeansAsync for asynchronous engines`);
  }
  return value;
}
