import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkVptqPass, vptqPassTargets } from './benchmark-vptq-pass';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkVptqPass', () => {
  afterAll(releaseTestDevice);

  it('times the first pass, the warm passes and a measure for every case and tuning', async () => {
    const rows = await benchmarkVptqPass(device as GPUDevice, {
      cases: [{ rows: 40, cols: 24, vectorLength: 4, numCentroids: 64, numResidualCentroids: 4, blockSize: 8 }],
      engines: [{}, { searchSlices: 2 }],
      passes: 2,
    });
    expect(rows.map((row) => [row.layer, row.searchSlices, row.tiles, row.passMs.length])).toEqual([
      ['40×24 v4-k64-4', 1, 1, 2],
      ['40×24 v4-k64-4', 2, 1, 2],
    ]);
    for (const row of rows) {
      for (const time of [row.openMs, row.firstPassMs, ...row.passMs, row.measureMs]) expect(time).toBeGreaterThan(0);
    }
    expect(vptqPassTargets.map((target) => `${target.rows}×${target.cols}`)).toEqual(['4096×4096', '14336×4096']);
  });
});
