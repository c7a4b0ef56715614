import { randomMatrix } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { assignNearest } from './assign-nearest';
import { createCpuKmeansEngine } from './create-cpu-kmeans-engine';
import { kmeans } from './kmeans';
import { kmeansAsync } from './kmeans-async';
import type { AsyncKmeansEngine, KmeansEngine, KmeansEngineFactory } from './kmeans-engine';

/** Wraps an engine factory and records every call. */
function recording(factory: KmeansEngineFactory) {
  const calls: string[] = [];
  const requested: number[][] = [];
  const wrapped: KmeansEngineFactory = (input) => {
    const engine = factory(input);
    return {
      step: (centroids) => (calls.push('step'), engine.step(centroids)),
      clusterCosts: (centroids) => (calls.push('clusterCosts'), engine.clusterCosts(centroids)),
      clusterMembers: (clusters, centroids) => {
        calls.push('clusterMembers');
        requested.push([...clusters]);
        return engine.clusterMembers(clusters, centroids);
      },
      assignments: () => (calls.push('assignments'), engine.assignments()),
      destroy: () => calls.push('destroy'),
    };
  };
  return { wrapped, calls, requested };
}

describe('createCpuKmeansEngine', () => {
  it('is the default engine: kmeans gives byte-identical results with it, with any assignment step', () => {
    const points = randomMatrix({ rows: 1500, cols: 3, seed: 21 });
    const weights = Float64Array.from({ length: 1500 }, (_, i) => (i % 9 === 0 ? 0 : 0.5 + (i % 4)));
    const plain = kmeans(points, 40, { weights, maxIterations: 25, tolerance: 0 });
    expect(kmeans(points, 40, { weights, maxIterations: 25, tolerance: 0, engine: createCpuKmeansEngine() })).toEqual(plain);
    const withAssign = createCpuKmeansEngine({ assign: assignNearest });
    expect(kmeans(points, 40, { weights, maxIterations: 25, tolerance: 0, engine: withAssign })).toEqual(plain);
  });

  it('returns per-cluster sums, totals, the objective and the changed count of one step', () => {
    const points = { data: new Float32Array([0, 1, 4, 10]), rows: 4, cols: 1 };
    const weights = new Float64Array([1, 3, 0, 2]);
    const engine = createCpuKmeansEngine()({ points, weights, k: 2 });
    const first = engine.step(new Float32Array([0, 9]));
    expect([...first.sums]).toEqual([3, 20]);
    expect([...first.totals]).toEqual([4, 2]);
    expect(first.objective).toBe(3 * 1 + 0 * 16 + 2 * 1);
    expect(first.changed).toBe(4);
    expect([...engine.assignments()]).toEqual([0, 0, 0, 1]);
    // Point 1 is as far from 0 as from 2: ties go to the lower index.
    const second = engine.step(new Float32Array([0, 2]));
    expect([...engine.assignments()]).toEqual([0, 0, 1, 1]);
    expect(second.changed).toBe(1);
    expect([...engine.clusterCosts(new Float32Array([0, 4]))]).toEqual([3 * 1, 0 * 0 + 2 * 36]);
    const members = engine.clusterMembers(new Uint32Array([1, 0]), new Float32Array([0, 4]));
    expect([...members.offsets]).toEqual([0, 2, 4]);
    expect([...members.points]).toEqual([2, 3, 0, 1]);
    expect([...members.costs]).toEqual([0, 72, 0, 3]);
  });

  it('is called once per step, asked for members of the costliest clusters only when one is empty, and destroyed', () => {
    // As in the repair test of kmeans: centroid 2 at 1000 gets no point; cluster 0 is the costliest.
    const points = { data: new Float32Array([0, 1, 5, 100, 101]), rows: 5, cols: 1 };
    const initialCentroids = { data: new Float32Array([2, 100.5, 1000]), rows: 3, cols: 1 };
    const { wrapped, calls, requested } = recording(createCpuKmeansEngine());
    const result = kmeans(points, 3, { initialCentroids, maxIterations: 1, engine: wrapped });
    expect([...result.centroids]).toEqual([0.5, 100.5, 5]);
    expect(calls).toEqual(['step', 'clusterCosts', 'clusterMembers', 'step', 'assignments', 'destroy']);
    expect(requested).toEqual([[0]]);

    const clean = recording(createCpuKmeansEngine());
    const run = kmeans(randomMatrix({ rows: 300, cols: 2, seed: 3 }), 4, { engine: clean.wrapped, init: 'kmeans++' });
    expect(clean.calls.filter((call) => call === 'step')).toHaveLength(run.iterations + 1);
    expect(clean.calls.slice(-2)).toEqual(['assignments', 'destroy']);
  });

  it('destroys the engine when the run fails', () => {
    const destroyed: boolean[] = [];
    const factory: KmeansEngineFactory = (input) => {
      const engine = createCpuKmeansEngine()(input);
      return { ...engine, step: () => ({ ...engine.step(new Float32Array(input.k * 2)), objective: Number.NaN }), destroy: () => destroyed.push(true) };
    };
    expect(() => kmeans(randomMatrix({ rows: 20, cols: 2, seed: 4 }), 3, { engine: factory })).toThrow(
      'kmeans: engine.step().objective must be a finite number ≥ 0 (got NaN)',
    );
    expect(destroyed).toEqual([true]);
  });

  it('repairs the same way whatever order the engine lists members in', () => {
    // Two far empty clusters; the members come back reversed and the algorithm must still take the
    // farthest point, lowest index on ties.
    const points = { data: new Float32Array([0, 1, 5, 6, 100, 101]), rows: 6, cols: 1 };
    const initialCentroids = { data: new Float32Array([3, 100.5, 1000, 2000]), rows: 4, cols: 1 };
    const reversed: KmeansEngineFactory = (input) => {
      const engine = createCpuKmeansEngine()(input);
      return {
        ...engine,
        clusterMembers(clusters, centroids) {
          const { offsets, points: members, costs } = engine.clusterMembers(clusters, centroids);
          const reorder = <T extends Uint32Array | Float64Array>(values: T): T => {
            const copy = values.slice() as T;
            for (let i = 0; i < clusters.length; i++) copy.subarray(offsets[i], offsets[i + 1]).reverse();
            return copy;
          };
          return { offsets, points: reorder(members), costs: reorder(costs) };
        },
      };
    };
    const options = { initialCentroids, maxIterations: 1 };
    expect(kmeans(points, 4, { ...options, engine: reversed })).toEqual(kmeans(points, 4, options));
  });

  it('runs asynchronous engines in kmeansAsync with the same results, and rejects them in kmeans', async () => {
    const points = randomMatrix({ rows: 400, cols: 4, seed: 11 });
    const asynchronous = (input: Parameters<KmeansEngineFactory>[0]): Promise<AsyncKmeansEngine> => {
      const engine: KmeansEngine = createCpuKmeansEngine()(input);
      return Promise.resolve({
        step: async (centroids) => engine.step(centroids),
        clusterCosts: async (centroids) => engine.clusterCosts(centroids),
        clusterMembers: async (clusters, centroids) => engine.clusterMembers(clusters, centroids),
        assignments: async () => engine.assignments(),
      });
    };
    expect(await kmeansAsync(points, 8, { engine: asynchronous })).toEqual(kmeans(points, 8));
    expect(() => kmeans(points, 8, { engine: asynchronous as never })).toThrow(
      'kmeans: the engine returned a promise (got Promise); use kmeansAsync for asynchronous engines',
    );
    expect(() => kmeans(points, 8, { assign: (async () => new Uint32Array(400)) as never })).toThrow(
      'kmeans: assign returned a promise; use kmeansAsync for an asynchronous assignment step',
    );
  });

  it('rejects bad engines and engine results with messages naming them', () => {
    const points = randomMatrix({ rows: 50, cols: 2, seed: 5 });
    expect(() => kmeans(points, 3, { engine: 'gpu' as never })).toThrow(
      'kmeans: engine must be a function that creates an engine (got "gpu")',
    );
    expect(() => kmeans(points, 3, { engine: createCpuKmeansEngine(), assign: assignNearest })).toThrow(
      'kmeans: give assign or engine, not both',
    );
    expect(() => createCpuKmeansEngine({ assign: 3 as never })).toThrow('createCpuKmeansEngine: assign must be a function (got 3)');
    const shortSums: KmeansEngineFactory = (input) => {
      const engine = createCpuKmeansEngine()(input);
      return { ...engine, step: (centroids) => ({ ...engine.step(centroids), sums: new Float64Array(2) }) };
    };
    expect(() => kmeans(points, 3, { engine: shortSums })).toThrow(
      'kmeans: engine.step().sums must be a Float64Array [k, dim] of 6 entries (got Float64Array of length 2)',
    );
    const badAssignments: KmeansEngineFactory = (input) => ({ ...createCpuKmeansEngine()(input), assignments: () => new Uint32Array(50).fill(3) });
    expect(() => kmeans(points, 3, { engine: badAssignments })).toThrow(
      'kmeans: engine.assignments() must return indices below k (got 3 at point 0, k = 3)',
    );
  });
});
