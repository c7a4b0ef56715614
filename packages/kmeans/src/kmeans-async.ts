import { createBoundedAssign } from './create-bounded-assign';
import type { KmeansAsyncOptions, KmeansResult } from './kmeans-options';
import type { Matrix } from './matrix';
import { runKmeans } from './run-kmeans';

/**
 * {@link kmeans} with an assignment step that may return a promise, for GPU backends that read results
 * back asynchronously. Given the same assignments it computes exactly what {@link kmeans} computes.
 *
 * @param points - `[count, dim]` f32 observations, finite, count ≥ 1.
 * @param k - Number of clusters, 1 ≤ k ≤ count.
 * @param options - See {@link KmeansAsyncOptions}.
 * @returns A promise of the same result as {@link kmeans}.
 * @throws {RangeError} / {TypeError} (as a rejected promise) for the same reasons as {@link kmeans}.
 */
export async function kmeansAsync(points: Matrix, k: number, options: KmeansAsyncOptions = {}): Promise<KmeansResult> {
  const assign = options.assign ?? createBoundedAssign();
  const run = runKmeans('kmeansAsync', points, k, options);
  let step = run.next();
  while (!step.done) step = run.next(await assign(points, step.value));
  return step.value;
}
