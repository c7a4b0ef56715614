import { assignNearest } from '@vptq/kmeans';
import { countDifferences, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { createKmeansAssignDispatch, kmeansAssign } from './kmeans-assign';
import { kmeansAssignWgsl } from './kmeans-assign.wgsl';

const device = await requestTestDevice();

describe.skipIf(!device)('kmeansAssign', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'kmeans-assign', kmeansAssignWgsl)).resolves.toBeDefined();
  });

  it("agrees with its CPU twin, @vptq/kmeans' assignNearest, over several centroid tiles", async () => {
    const points = randomMatrix({ rows: 3000, cols: 8, seed: 1 });
    const centroids = randomMatrix({ rows: 1100, cols: 8, seed: 2 });
    // f32 (GPU) vs f64 (CPU) sums may flip genuine near-ties; more than a handful is a bug.
    expect(countDifferences(await kmeansAssign(gpu, points, centroids), assignNearest(points, centroids))).toBeLessThanOrEqual(3);
  });

  it('breaks ties to the lower index, as assignNearest does', async () => {
    const points = { data: new Float32Array([0, 0, 2, 2, 1, 1]), rows: 3, cols: 2 };
    const centroids = { data: new Float32Array([2, 2, 0, 0]), rows: 2, cols: 2 };
    expect([...(await kmeansAssign(gpu, points, centroids))]).toEqual([1, 0, 0]);
    expect([...assignNearest(points, centroids)]).toEqual([1, 0, 0]);
  });

  it.each([
    [1, 1, 'expanded', 1],
    [3, 100, 'direct', 3],
    [6, 700, 'expanded', 4],
    [8, 129, 'direct', 2],
    [13, 300, 'expanded', 2],
    [16, 257, 'direct', 1],
  ] as const)('agrees with assignNearest for dim %i, k %i (%s distances, %i points per invocation)', async (dim, k, distance, pointsPerInvocation) => {
    // k below, at and above one tile of 128 (the default workgroup size), and 900 points: a partial workgroup.
    const points = randomMatrix({ rows: 900, cols: dim, seed: dim });
    const centroids = randomMatrix({ rows: k, cols: dim, seed: k });
    const onGpu = await kmeansAssign(gpu, points, centroids, { distance, pointsPerInvocation });
    expect(countDifferences(onGpu, assignNearest(points, centroids))).toBeLessThanOrEqual(2);
  });

  it('counts the points whose assignment changed into stats[2]', async () => {
    const points = { data: new Float32Array([0, 1, 2, 3, 10]), rows: 5, cols: 1 };
    const centroids = { data: new Float32Array([0, 2.6, 10]), rows: 3, cols: 1 };
    const buffers = {
      points: createBufferWithData(gpu, 'test/points', points.data),
      centroids: createBufferWithData(gpu, 'test/centroids', centroids.data),
      assignments: createBufferWithData(gpu, 'test/assignments', new Uint32Array([0, 0, 0, 0, 0])),
      stats: createStorageBuffer(gpu, 'test/stats', 16),
    };
    const dispatch = await createKmeansAssignDispatch(gpu, buffers, { count: 5, k: 3, dim: 1 }, { workgroupSize: 32, pointsPerInvocation: 1 });
    submitDispatches(gpu, 'test', [dispatch]);
    expect([...new Uint32Array(await readBuffer(gpu, buffers.assignments, 20))]).toEqual([0, 0, 1, 1, 2]);
    expect([...new Uint32Array(await readBuffer(gpu, buffers.stats))]).toEqual([0, 0, 3, 0]);
    dispatch.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  });

  it('rejects points wider than 16 and bad options', async () => {
    const wide = randomMatrix({ rows: 8, cols: 17, seed: 5 });
    await expect(kmeansAssign(gpu, wide, randomMatrix({ rows: 2, cols: 17, seed: 6 }))).rejects.toThrow(
      'createKmeansAssignDispatch: shape.dim must be an integer between 1 and 16 (got 17)',
    );
    const points = randomMatrix({ rows: 8, cols: 4, seed: 7 });
    await expect(kmeansAssign(gpu, points, points, { workgroupSize: 100 })).rejects.toThrow('options.workgroupSize must be 32, 64, 128 or 256 (got 100)');
    await expect(kmeansAssign(gpu, points, points, { pointsPerInvocation: 5 })).rejects.toThrow('options.pointsPerInvocation must be an integer between 1 and 4 (got 5)');
  });

  it('rejects centroids of a different width', async () => {
    const points = randomMatrix({ rows: 8, cols: 8, seed: 3 });
    const centroids = randomMatrix({ rows: 4, cols: 6, seed: 4 });
    await expect(kmeansAssign(gpu, points, centroids)).rejects.toThrow(/same width \(got 8 and 6\)/);
  });
});
