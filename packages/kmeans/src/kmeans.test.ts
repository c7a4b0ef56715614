import { createTestRng, randomMatrix } from '@vptq/test-utils';
import { describe, expect, it, vi } from 'vitest';

import { assignNearest } from './assign-nearest';
import { kmeans } from './kmeans';
import { kmeansAsync } from './kmeans-async';
import type { Matrix } from './matrix';
import { gridCase } from './test/grid-cases';

/** `perCluster` points around each of `centers` (a [k, dim] list), with uniform noise of ±`spread`. */
function clustered(centers: number[][], perCluster: number, spread: number, seed: number): Matrix {
  const dim = centers[0].length;
  const next = createTestRng(seed);
  const data = new Float32Array(centers.length * perCluster * dim);
  let i = 0;
  for (let p = 0; p < perCluster; p++) {
    for (const center of centers) for (let j = 0; j < dim; j++) data[i++] = center[j] + (next() * 2 - 1) * spread;
  }
  return { data, rows: centers.length * perCluster, cols: dim };
}

const centers = [
  [0, 0, 0],
  [10, 0, 0],
  [0, 10, 0],
  [0, 0, 10],
  [10, 10, 10],
];

function sortedRows(data: Float32Array, dim: number): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < data.length / dim; r++) rows.push([...data.subarray(r * dim, r * dim + dim)]);
  return rows.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

function bytes(array: Float32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

describe('kmeans', () => {
  it('recovers well-separated clusters', () => {
    const points = clustered(centers, 40, 0.5, 1);
    const result = kmeans(points, 5, { init: 'kmeans++', seed: 3 });
    expect(result.converged).toBe(true);
    const found = sortedRows(result.centroids, 3);
    for (const center of centers) {
      const distances = found.map((c) => Math.hypot(c[0] - center[0], c[1] - center[1], c[2] - center[2]));
      expect(Math.min(...distances)).toBeLessThan(0.2);
    }
    // Points were generated round-robin over the centers, so point i belongs with point i mod 5.
    for (let i = 5; i < points.rows; i++) expect(result.assignments[i]).toBe(result.assignments[i % 5]);
  });

  it('returns assignments and objective that match the returned centroids', () => {
    const points = randomMatrix({ rows: 300, cols: 2, seed: 4 });
    const weights = Float64Array.from({ length: 300 }, (_, i) => 1 + (i % 7));
    const result = kmeans(points, 16, { weights, maxIterations: 3, tolerance: 0 });
    const centroids = { data: result.centroids, rows: 16, cols: 2 };
    expect(result.assignments).toEqual(assignNearest(points, centroids));
    let objective = 0;
    for (let i = 0; i < 300; i++) {
      const c = result.assignments[i];
      const dx = points.data[2 * i] - result.centroids[2 * c];
      const dy = points.data[2 * i + 1] - result.centroids[2 * c + 1];
      objective += weights[i] * (dx * dx + dy * dy);
    }
    expect(result.objective).toBeCloseTo(objective, 10);
    expect(result.iterations).toBe(3);
    expect(result.converged).toBe(false);
  });

  it('moves centroids to the weighted mean', () => {
    const points = { data: new Float32Array([0, 0, 1, 0, 100, 100, 104, 100]), rows: 4, cols: 2 };
    const weights = new Float32Array([3, 1, 1, 3]);
    const one = kmeans(points, 1, { weights });
    expect([...one.centroids]).toEqual([413 / 8, 400 / 8]);
    const two = kmeans(points, 2, { weights, init: 'kmeans++' });
    expect(sortedRows(two.centroids, 2)).toEqual([
      [0.25, 0],
      [103, 100],
    ]);
  });

  it('ignores points of zero weight in the means', () => {
    const points = { data: new Float32Array([1, 2, 3, 1000]), rows: 4, cols: 1 };
    const result = kmeans(points, 1, { weights: new Float64Array([1, 1, 1, 0]) });
    expect([...result.centroids]).toEqual([2]);
  });

  it('is bit-reproducible and depends on the seed', () => {
    const points = randomMatrix({ rows: 2000, cols: 4, seed: 5 });
    const weights = Float32Array.from({ length: 2000 }, (_, i) => 0.5 + (i % 3));
    for (const init of ['random', 'kmeans++'] as const) {
      const a = kmeans(points, 64, { weights, init, maxIterations: 20 });
      const b = kmeans(points, 64, { weights, init, maxIterations: 20 });
      expect(bytes(a.centroids).equals(bytes(b.centroids))).toBe(true);
      expect(bytes(a.assignments).equals(bytes(b.assignments))).toBe(true);
      expect(a.objective).toBe(b.objective);
      const other = kmeans(points, 64, { weights, init, maxIterations: 20, seed: 1 });
      expect(bytes(other.centroids).equals(bytes(a.centroids))).toBe(false);
    }
  });

  it('produces the recorded bytes for a fixed input (the cross-machine reproducibility contract)', () => {
    // If this fails after an intentional algorithm change, record the new checksum and say so in the changelog.
    const points = randomMatrix({ rows: 500, cols: 3, seed: 6 });
    const weights = Float32Array.from({ length: 500 }, (_, i) => 1 + (i % 5));
    const checksum = (result: { centroids: Float32Array; assignments: Uint32Array }) =>
      fnv1a(bytes(result.centroids)) ^ fnv1a(bytes(result.assignments));
    expect(checksum(kmeans(points, 12, { weights }))).toBe(0x284060a3);
    expect(checksum(kmeans(points, 12, { weights, init: 'kmeans++' }))).toBe(0x520f102);
  });

  it('repairs an empty cluster with the farthest point of the costliest cluster', () => {
    // Cluster {0, 1, 5} (mean 2, SSE 14) is costlier than {100, 101} (SSE 0.5), and centroid 2 at 1000 gets no
    // point. Repair moves 5, the farthest point of the costly cluster, into it and re-centres the donor on 0.5.
    const points = { data: new Float32Array([0, 1, 5, 100, 101]), rows: 5, cols: 1 };
    const initialCentroids = { data: new Float32Array([2, 100.5, 1000]), rows: 3, cols: 1 };
    const result = kmeans(points, 3, { initialCentroids, maxIterations: 1 });
    expect([...result.centroids]).toEqual([0.5, 100.5, 5]);
    expect([...result.assignments]).toEqual([0, 0, 2, 1, 1]);
    expect(result.objective).toBe(0.5 + 0.5);

    const spread = clustered([[0, 0, 0], [10, 0, 0]], 50, 1, 7);
    const far = { data: new Float32Array([0, 0, 0, 10, 0, 0, 1000, 1000, 1000]), rows: 3, cols: 3 };
    const repaired = kmeans(spread, 3, { initialCentroids: far });
    const counts = [0, 0, 0];
    for (const a of repaired.assignments) counts[a]++;
    expect(counts.every((count) => count > 0)).toBe(true);
  });

  it('never takes the last weighted point of a donor, which left a 0 / 0 centroid', () => {
    // Cluster {0, 10} is the costliest (50) and two clusters are empty. Member costs are not recomputed
    // after a donation, so the donor still looked costly after giving away 0; taking 10 as well left it
    // empty with a NaN mean. The second empty cluster must take a point of {100, 100.5} instead.
    const points = { data: new Float32Array([0, 10, 100, 100.5]), rows: 4, cols: 1 };
    const initialCentroids = { data: new Float32Array([5, 100.25, 1000, 2000]), rows: 4, cols: 1 };
    const result = kmeans(points, 4, { initialCentroids, maxIterations: 1 });
    expect([...result.centroids]).toEqual([10, 100.5, 0, 100]);
    expect(result.objective).toBe(0);

    // Grid data with duplicates, zero weights and far starting centroids: many repairs per run. Before the
    // fix, about one case in ten ended with a NaN centroid.
    const next = createTestRng(13);
    for (let run = 0; run < 200; run++) {
      const { points, k, weights, far } = gridCase(next);
      const outcome = kmeans(points, k, { weights, initialCentroids: far, maxIterations: 30 });
      expect(outcome.centroids.every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(outcome.objective)).toBe(true);
    }
  });

  it('handles duplicate points and k equal to the number of points without NaN', () => {
    const points = { data: new Float32Array([1, 1, 1, 2, 2, 3]), rows: 6, cols: 1 };
    for (const init of ['random', 'kmeans++'] as const) {
      const all = kmeans(points, 6, { init });
      expect(all.centroids.every(Number.isFinite)).toBe(true);
      expect(all.objective).toBe(0);
      expect(new Set(all.centroids)).toEqual(new Set([1, 2, 3]));
      const three = kmeans(points, 3, { init });
      expect(sortedRows(three.centroids, 1).flat()).toEqual([1, 2, 3]);
      expect(three.objective).toBe(0);
    }
  });

  it('initializes k-means++ with one point from each well-separated cluster, unlike random init', () => {
    // One big cluster and four small far ones: uniform random picks mostly land in the big one, while the
    // D² mass of each small cluster (5 · 100²) dwarfs that of the big one (≈ 400 · 1).
    const far = centers.map((center) => center.map((value) => value * 10));
    const big = clustered([[0, 0, 0]], 400, 1, 8);
    const small = clustered(far.slice(1), 5, 0.1, 9);
    const points = { data: new Float32Array([...big.data, ...small.data]), rows: 420, cols: 3 };
    const near = (centroids: Float32Array) =>
      far.map((center) => sortedRows(centroids, 3).some((c) => Math.hypot(c[0] - center[0], c[1] - center[1], c[2] - center[2]) < 1.5));
    let plusPlusHits = 0;
    let randomHits = 0;
    for (let seed = 0; seed < 5; seed++) {
      plusPlusHits += near(kmeans(points, 5, { init: 'kmeans++', seed, maxIterations: 0 }).centroids).filter(Boolean).length;
      randomHits += near(kmeans(points, 5, { init: 'random', seed, maxIterations: 0 }).centroids).filter(Boolean).length;
    }
    expect(plusPlusHits).toBe(25);
    expect(randomHits).toBeLessThan(15);
    const initial = kmeans(points, 5, { init: 'random', maxIterations: 0 });
    for (const row of sortedRows(initial.centroids, 3)) {
      expect(sortedRows(points.data, 3).some((p) => p.every((value, j) => value === row[j]))).toBe(true);
    }
  });

  it('stops early by tolerance (relative objective change) and reports progress', () => {
    const points = randomMatrix({ rows: 3000, cols: 2, seed: 10 });
    const progress: number[] = [];
    const loose = kmeans(points, 50, { tolerance: 1e-2, onIteration: (iteration, objective) => progress.push(iteration, objective) });
    const strict = kmeans(points, 50, { tolerance: 0, maxIterations: 500 });
    expect(loose.converged).toBe(true);
    expect(strict.converged).toBe(true);
    expect(loose.iterations).toBeLessThan(strict.iterations);
    expect(strict.objective).toBeLessThanOrEqual(loose.objective);
    expect(progress.length).toBe(2 * loose.iterations);
    expect(progress[progress.length - 1]).toBe(loose.objective);
    for (let i = 3; i < progress.length; i += 2) expect(progress[i]).toBeLessThanOrEqual(progress[i - 2] * (1 + 1e-12));
    const capped = kmeans(points, 50, { tolerance: 0, maxIterations: 2 });
    expect(capped).toMatchObject({ iterations: 2, converged: false });
  });

  it('uses a replaced assignment step, sync or async, with identical results', async () => {
    const points = randomMatrix({ rows: 400, cols: 4, seed: 11 });
    const assign = vi.fn(assignNearest);
    const sync = kmeans(points, 8, { assign });
    expect(assign).toHaveBeenCalledTimes(sync.iterations + 1);
    const asynchronous = await kmeansAsync(points, 8, { assign: async (p, c) => assignNearest(p, c) });
    expect(asynchronous).toEqual(sync);
    expect(() => kmeans(points, 8, { assign: () => new Uint32Array(400).fill(8) })).toThrow(
      'kmeans: assign must return indices below k (got 8 at point 0, k = 8)',
    );
    expect(() => kmeans(points, 8, { assign: () => new Uint32Array(3) })).toThrow(TypeError);
    await expect(kmeansAsync(points, 0)).rejects.toThrow('kmeansAsync: k must be between 1');
  });

  it('rejects bad arguments with messages naming the parameter', () => {
    const points = randomMatrix({ rows: 256, cols: 2, seed: 12 });
    expect(() => kmeans(points, 300)).toThrow('kmeans: k must be between 1 and the number of points (got k = 300, points = 256)');
    expect(() => kmeans(points, 1.5)).toThrow(RangeError);
    expect(() => kmeans({ data: new Float32Array(0), rows: 0, cols: 2 }, 1)).toThrow('kmeans: points must not be empty (got 0 rows)');
    expect(() => kmeans({ data: new Float32Array([1, Number.NaN]), rows: 1, cols: 2 }, 1)).toThrow(
      'kmeans: points must be finite (got NaN at row 0, column 1)',
    );
    expect(() => kmeans(points, 2, { weights: new Float32Array(3) })).toThrow(
      'kmeans: weights must have one entry per point (got 3, points = 256)',
    );
    expect(() => kmeans(points, 2, { weights: new Float32Array(256).fill(-1) })).toThrow(
      'kmeans: weights must be finite and non-negative (got -1 at point 0)',
    );
    expect(() => kmeans(points, 2, { weights: new Float32Array(256) })).toThrow('kmeans: weights must have a positive finite sum (got 0)');
    expect(() => kmeans(points, 2, { weights: [1, 2] as unknown as Float32Array })).toThrow(TypeError);
    expect(() => kmeans(points, 2, { init: 'k-means++' as never })).toThrow(
      `kmeans: init must be 'random' or 'kmeans++' (got "k-means++")`,
    );
    expect(() => kmeans(points, 2, { seed: -1 })).toThrow('kmeans: seed must be a non-negative safe integer (got -1)');
    expect(() => kmeans(points, 2, { maxIterations: -1 })).toThrow(RangeError);
    expect(() => kmeans(points, 2, { tolerance: Number.NaN })).toThrow('kmeans: tolerance must be a finite number ≥ 0 (got NaN)');
    expect(() => kmeans(points, 2, { initialCentroids: randomMatrix({ rows: 3, cols: 2, seed: 1 }) })).toThrow(
      'kmeans: initialCentroids must be [k, dim] = [2, 2] (got [3, 2])',
    );
  });
});

function fnv1a(data: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of data) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
