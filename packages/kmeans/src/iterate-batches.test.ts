import { createTestRng, randomMatrix } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { createCpuKmeansEngine } from './create-cpu-kmeans-engine';
import { kmeans } from './kmeans';
import { kmeansAsync } from './kmeans-async';
import type { AsyncKmeansEngine, AsyncKmeansEngineFactory, KmeansIterations } from './kmeans-engine';
import { gridCase } from './test/grid-cases';
import { updateCentroids } from './update-centroids';

/**
 * The CPU engine with `iterate`: each batch iteration is the host's own update (`updateCentroids`) and a step, so
 * a run through it must give exactly what the host-driven run gives, whatever the batches cut, the repairs and
 * the convergence test do. Records the calls.
 */
function iteratingCpuEngine(calls: string[]): AsyncKmeansEngineFactory {
  return (input) => {
    const engine = createCpuKmeansEngine()(input);
    const { k } = input;
    const dim = input.points.cols;
    let current: { centroids: Float32Array; sums: Float64Array; totals: Float64Array } | undefined;
    let ring: Float32Array[] = [];
    const step = (centroids: Float32Array) => {
      const result = engine.step(centroids);
      current = { centroids: centroids.slice(), sums: result.sums.slice(), totals: result.totals.slice() };
      return result;
    };
    const iterating: AsyncKmeansEngine = {
      step: (centroids) => (calls.push('step'), step(centroids)),
      clusterCosts: (centroids) => engine.clusterCosts(centroids),
      clusterMembers: (clusters, centroids) => engine.clusterMembers(clusters, centroids),
      assignments: () => engine.assignments(),
      async iterate(size): Promise<KmeansIterations> {
        calls.push(`iterate ${size}`);
        const state = current as NonNullable<typeof current>;
        ring = [state.centroids.slice()];
        const run = { objectives: new Float64Array(size), changed: new Uint32Array(size), empty: new Uint32Array(size) };
        for (let j = 0; j < size; j++) {
          const now = current as NonNullable<typeof current>;
          for (let c = 0; c < k; c++) if (!(now.totals[c] > 0)) run.empty[j]++;
          if (run.empty[j] > 0) calls.push(`empty at ${j}`);
          const next = step(updateCentroids(now.sums, now.totals, now.centroids, k, dim));
          ring.push((current as NonNullable<typeof current>).centroids.slice());
          run.objectives[j] = next.objective;
          run.changed[j] = next.changed;
        }
        return run;
      },
      async iteratedCentroids(index) {
        calls.push(`centroids ${index}`);
        return ring[index + 1].slice();
      },
    };
    return iterating;
  };
}

describe('kmeansAsync with an engine that iterates in batches', () => {
  it.each([
    ['converges inside a batch', randomMatrix({ rows: 600, cols: 3, seed: 2 }), 12, { maxIterations: 100, tolerance: 1e-4 }],
    ['runs every iteration (no tolerance), batches cut by the cap', randomMatrix({ rows: 600, cols: 3, seed: 3 }), 12, { maxIterations: 21, tolerance: 0 }],
  ] as const)('gives exactly the host-driven result: %s', async (_, points, k, options) => {
    const weights = Float64Array.from({ length: points.rows }, (_, i) => 0.5 + (i % 5));
    const plain = kmeans(points, k, { weights, ...options, init: 'random' });
    const calls: string[] = [];
    const iterations: number[] = [];
    const batched = await kmeansAsync(points, k, { weights, ...options, init: 'random', engine: iteratingCpuEngine(calls), onIteration: (i) => iterations.push(i) });
    expect(batched).toEqual(plain);
    expect(iterations).toEqual(Array.from({ length: plain.iterations }, (_, i) => i + 1));
    expect(calls.some((call) => call.startsWith('iterate'))).toBe(true);
  });

  it('gives the host-driven result with the repairs of grid data with duplicates and zero weights', async () => {
    // As kmeans' repair test: from far starting centroids (clusters empty at the first step) or from random points.
    const next = createTestRng(13);
    for (let run = 0; run < 160; run++) {
      const { points, k, weights, far } = gridCase(next);
      const options = run % 2 === 0 ? { weights, initialCentroids: far, maxIterations: 30, tolerance: 0 } : { weights, init: 'random' as const, seed: run, maxIterations: 30, tolerance: 0 };
      const batched = await kmeansAsync(points, k, { ...options, engine: iteratingCpuEngine([]) });
      expect(batched).toEqual(kmeans(points, k, options));
    }
  });

  it('drops the iterations from an update that met an empty cluster, goes back to the one before, and batches again', async () => {
    // An engine whose third batch iteration reports an empty cluster (as if its update had met one).
    const points = randomMatrix({ rows: 400, cols: 2, seed: 6 });
    const calls: string[] = [];
    const factory = iteratingCpuEngine(calls);
    let batches = 0;
    const scripted: AsyncKmeansEngineFactory = async (input) => {
      const engine = await factory(input);
      return {
        ...engine,
        async iterate(size) {
          const run = await (engine.iterate as NonNullable<AsyncKmeansEngine['iterate']>)(size);
          if (batches++ === 0) run.empty[2] = 1;
          return run;
        },
      };
    };
    const iterations: number[] = [];
    const result = await kmeansAsync(points, 10, { maxIterations: 20, tolerance: 0, init: 'random', engine: scripted, onIteration: (i) => iterations.push(i) });
    expect(result.iterations).toBeGreaterThan(4);
    expect(iterations).toEqual(Array.from({ length: result.iterations }, (_, i) => i + 1));
    // Iterations 1 and 2 came from the batch; the engine went back to iteration 2 (index 1) and the host ran 3.
    expect(calls.slice(0, 6)).toEqual(['step', 'iterate 8', 'centroids 1', 'step', 'step', 'iterate 8']);
  });
});
