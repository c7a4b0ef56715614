import { assignNearest } from '@vptq/kmeans';
import { countDifferences, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { kmeansAssign } from './kmeans-assign';
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

  it('rejects centroids of a different width', async () => {
    const points = randomMatrix({ rows: 8, cols: 8, seed: 3 });
    const centroids = randomMatrix({ rows: 4, cols: 6, seed: 4 });
    await expect(kmeansAssign(gpu, points, centroids)).rejects.toThrow(/same width \(got 8 and 6\)/);
  });
});
