import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkRefit } from './benchmark-refit';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkRefit', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('times open, host tables and refits of a dense and a matrix-free case, scaled down', async () => {
    const rows = await benchmarkRefit(gpu, {
      cases: [
        { rows: 64, cols: 64, vectorLength: 6, numCentroids: 64 },
        { rows: 96, cols: 32, vectorLength: 8, numCentroids: 256, numResidualCentroids: 16 },
      ],
      engines: [{}, { solver: 'cg', cgIterations: 5, cgTolerance: 0 }],
      refits: 1,
    });
    expect(rows.map((row) => [row.layer, row.solvers, row.unknowns])).toEqual([
      ['64×64 v6-k64', ['dense/cholesky'], 64],
      ['64×64 v6-k64', ['cg/jacobi'], 64],
      ['96×32 v8-k256-16', ['dense/cholesky'], 272],
      ['96×32 v8-k256-16', ['cg/jacobi'], 272],
    ]);
    // A zero tolerance runs every iteration.
    expect(rows[1].iterations).toEqual([5]);
    for (const row of rows) {
      expect(row.openMs).toBeGreaterThan(0);
      expect(row.tablesMs).toBeGreaterThanOrEqual(0);
      expect(row.firstRefitMs).toBeGreaterThan(0);
      expect(row.refitMs).toHaveLength(1);
      expect(row.iterations[0]).toBeGreaterThan(0);
    }
  });

  it('rejects a negative refit count', async () => {
    await expect(benchmarkRefit(gpu, { refits: -1 })).rejects.toThrow('benchmarkRefit: refits must be an integer ≥ 0 (got -1)');
  });
});
