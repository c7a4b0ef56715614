import { kmeansAsync } from '@vptq/kmeans';
import type { Matrix } from '@vptq/kmeans';

import { createTestRng, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createGpuKmeansEngine } from '../kmeans-engine/create-gpu-kmeans-engine';

const device = await requestTestDevice();

function bytes(array: Float32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** Points drawn around `clusters` centres with heavy-tailed noise, and weights over three decades. */
function problem(count: number, dim: number, clusters: number, seed: number): { points: Matrix; weights: Float64Array } {
  const next = createTestRng(seed);
  const centers = Float64Array.from({ length: clusters * dim }, () => next() * 2 - 1);
  const data = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(next() * clusters);
    const scale = 0.05 / Math.max(0.05, next());
    for (let j = 0; j < dim; j++) data[i * dim + j] = centers[c * dim + j] + (next() * 2 - 1) * scale;
  }
  return { points: { data, rows: count, cols: dim }, weights: Float64Array.from({ length: count }, () => 10 ** (next() * 3 - 1.5)) };
}

describe.skipIf(!device)('bounded k-means assignment (kmeans-bounds)', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it.each([
    [6, 256, 30_000, 128, undefined],
    [8, 300, 12_000, 16, 5000],
    [3, 64, 8000, 1, undefined],
    [16, 40, 4000, 256, 1500],
  ])('gives the full scan’s run bit for bit, scanning ever fewer points: dim %i, k %i, %i points, %i movers, chunks of %s', async (dim, k, count, maxMovers, maxChunkPoints) => {
    const { points, weights } = problem(count, dim, 2 * k, dim * k);
    const options = { weights, maxIterations: 40, tolerance: 0, seed: 7 };
    const scanned: number[] = [];
    const full = await kmeansAsync(points, k, { ...options, engine: createGpuKmeansEngine(gpu, { bounds: false, maxChunkPoints }) });
    const bounded = await kmeansAsync(points, k, {
      ...options,
      engine: createGpuKmeansEngine(gpu, { maxMovers, maxChunkPoints, onScanned: (points) => scanned.push(points) }),
    });
    expect(bounded.iterations).toBe(full.iterations);
    expect(bytes(bounded.assignments).equals(bytes(full.assignments))).toBe(true);
    expect(bytes(bounded.centroids).equals(bytes(full.centroids))).toBe(true);
    expect(bounded.objective).toBe(full.objective);
    // The first assignment scans every point; once the centroids settle, few are scanned.
    expect(scanned[0]).toBe(count);
    expect(Math.min(...scanned.slice(-5))).toBeLessThan(count / 4);
  });

  it('follows centroids that jump (a host repair or a restart) with the full scan’s assignments', async () => {
    const { points, weights } = problem(6000, 6, 64, 5);
    const make = (bounds: boolean) => createGpuKmeansEngine(gpu, { bounds })({ points, weights, k: 32 });
    const [full, bounded] = await Promise.all([make(false), make(true)]);
    try {
      const next = createTestRng(11);
      let centroids = points.data.slice(0, 32 * 6);
      for (let round = 0; round < 12; round++) {
        const [a, b] = await Promise.all([full.step(centroids), bounded.step(centroids)]);
        expect(b.changed).toBe(a.changed);
        expect(b.objective).toBe(a.objective);
        expect(Array.from(b.totals)).toEqual(Array.from(a.totals));
        // Small moves, then every third round one centroid jumps to a random point.
        centroids = centroids.map((value) => value + (next() * 2 - 1) * 1e-3);
        if (round % 3 === 2) centroids.set(points.data.subarray(600 * 6, 601 * 6), Math.floor(next() * 32) * 6);
      }
      expect(bytes(await bounded.assignments()).equals(bytes(await full.assignments()))).toBe(true);
    } finally {
      full.destroy?.();
      bounded.destroy?.();
    }
  });
});
