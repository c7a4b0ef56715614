import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkHessianAccumulator } from './benchmark-hessian-accumulator';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkHessianAccumulator', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('measures accumulation and read-back per width, counting the multiply-adds of the upper tiles', async () => {
    const seen: number[] = [];
    const rows = await benchmarkHessianAccumulator(gpu, { columns: [64, 130], tokensPerCall: 128, calls: 2, warmUpMilliseconds: 0, onRow: (row) => seen.push(row.columns) });
    expect(seen).toEqual([64, 130]);
    expect(rows.map((row) => [row.columns, row.tokens, row.accumulatorBytes])).toEqual([
      [64, 256, 64 * 64 * 8 + 64 * 8 + 64 * 64 * 4],
      [130, 256, 6 * 64 * 64 * 8 + 3 * 64 * 8 + 64 * 130 * 4],
    ]);
    for (const row of rows) {
      expect(row.milliseconds).toBeGreaterThan(0);
      expect(row.readMilliseconds).toBeGreaterThan(0);
      expect(row.tokensPerSecond).toBeCloseTo(row.tokens / (row.milliseconds / 1e3), 6);
    }
    // n = 130: 3 × 3 tiles, 6 computed.
    expect(rows[1].teraMultiplyAddsPerSecond).toBeCloseTo((6 * 4096 * 256) / (rows[1].milliseconds / 1e3) / 1e12, 12);
  });

  it('rejects a bad option', async () => {
    await expect(benchmarkHessianAccumulator(gpu, { calls: 0 })).rejects.toThrow(/options.calls must be an integer ≥ 1 \(got 0\)/);
  });
});
