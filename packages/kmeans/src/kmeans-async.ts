import { asyncCpuEngineFactory } from './create-cpu-kmeans-engine';
import type { KmeansAsyncOptions, KmeansResult } from './kmeans-options';
import type { Matrix } from './matrix';
import { runKmeans } from './run-kmeans';
import { validateKmeans } from './validate-kmeans';

/**
 * {@link kmeans} with an engine (or assignment step) that may return promises, for GPU backends that read
 * results back asynchronously. Given the same engine results it computes exactly what {@link kmeans} computes.
 *
 * @param points - `[count, dim]` f32 observations, finite, count ≥ 1.
 * @param k - Number of clusters, 1 ≤ k ≤ count.
 * @param options - See {@link KmeansAsyncOptions}.
 * @returns A promise of the same result as {@link kmeans}.
 * @throws {RangeError} / {TypeError} (as a rejected promise) for the same reasons as {@link kmeans}.
 */
export async function kmeansAsync(points: Matrix, k: number, options: KmeansAsyncOptions = {}): Promise<KmeansResult> {
  const validated = validateKmeans('kmeansAsync', points, k, options);
  const factory = options.engine ?? asyncCpuEngineFactory('kmeansAsync', options.assign);
  const engine = await factory({ points, weights: validated.weights, k });
  try {
    const run = runKmeans('kmeansAsync', points, k, options, validated);
    let step = run.next();
    while (!step.done) step = run.next(await step.value(engine));
    return step.value;
  } finally {
    await engine.destroy?.();
  }
}
