import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkKmeans, vptqKmeansCases } from './benchmark-kmeans';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkKmeans', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('times engine steps and a whole run of the issue’s k-means cases, scaled down', async () => {
    const seen: string[] = [];
    const rows = await benchmarkKmeans(gpu, {
      cases: [vptqKmeansCases[0], vptqKmeansCases[2]],
      sizeDivisor: 1024,
      steps: 2,
      iterations: 3,
      onRow: (row) => seen.push(row.name),
    });
    expect(seen).toEqual(['v6-k4096 4096x4096', 'v8-residual256 14336x4096']);
    expect(rows.map((row) => [row.count, row.k, row.dim, row.runIterations])).toEqual([
      [2731, 4, 6, 3],
      [7168, 1, 8, 1],
    ]);
    for (const row of rows) {
      expect(row.stepMilliseconds).toBeGreaterThan(0);
      expect(row.flopsPerSecond).toBeCloseTo((2 * row.dim * row.count * row.k) / (row.stepMilliseconds / 1000), 0);
      expect(row.runMilliseconds).toBeGreaterThan(0);
      expect(row.assignMicroseconds).toBeUndefined();
    }
  });

  it('times the assignment and reduction kernels alone when asked', async () => {
    const [row] = await benchmarkKmeans(gpu, { cases: [vptqKmeansCases[0]], sizeDivisor: 1024, steps: 1, kernelTimes: true });
    expect(row.assignMicroseconds).toBeGreaterThan(0);
    expect(row.reduceMicroseconds).toBeGreaterThan(0);
    expect(['timestamp-query', 'wall-clock']).toContain(row.kernelTiming);
  });

  it('rejects bad options', async () => {
    await expect(benchmarkKmeans(gpu, { steps: 0 })).rejects.toThrow('benchmarkKmeans: sizeDivisor must be ≥ 1, steps ≥ 1 and iterations ≥ 0 (got 1, 0, 0)');
  });
});
