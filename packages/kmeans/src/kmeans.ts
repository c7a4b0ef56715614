import { createBoundedAssign } from './create-bounded-assign';
import type { KmeansOptions, KmeansResult } from './kmeans-options';
import type { Matrix } from './matrix';
import { runKmeans } from './run-kmeans';

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
 *   assignment step returning out-of-range indices.
 * @throws {TypeError} for arguments of the wrong type.
 */
export function kmeans(points: Matrix, k: number, options: KmeansOptions = {}): KmeansResult {
  const assign = options.assign ?? createBoundedAssign();
  const run = runKmeans('kmeans', points, k, options);
  let step = run.next();
  while (!step.done) step = run.next(assign(points, step.value));
  return step.value;
}
