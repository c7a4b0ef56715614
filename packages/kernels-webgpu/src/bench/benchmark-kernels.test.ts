import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkKernels, defaultBenchmarkConfigs } from './benchmark-kernels';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkKernels', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);
  // 1/64 of the 7B shapes, two iterations, one repeat: a check of the harness, not a measurement.
  const tiny = { sizeDivisor: 64, iterations: 2, repeats: 1, warmUpMilliseconds: 0, rotationBytes: 1, copyBytes: 1 << 20 };

  it('measures copy, both f16 GEMVs and the three VQ-GEMV kernels side by side at small sizes', async () => {
    const seen: string[] = [];
    const result = await benchmarkKernels(gpu, {
      shapes: [{ outFeatures: 4096, inFeatures: 11008 }],
      configs: [defaultBenchmarkConfigs[0], defaultBenchmarkConfigs[3], defaultBenchmarkConfigs[4]],
      ...tiny,
      onRow: (row) => seen.push(row.kernel),
    });
    // v6-k4096's 48 KiB codebook does not fit lavapipe's 32 KiB of workgroup memory, and the outlier layout is
    // neither the on-chip kernel's nor the lanes kernel's: only v8-k256-r256 gets an on-chip row (where the device
    // has subgroups), and the outlier layout no lanes row (listed as skipped).
    const onChip = gpu.features.has('subgroups') ? [['vq-gemv-onchip', '64x192', 'v8-k256-r256']] : [];
    expect(seen).toEqual(['copy', 'gemv-f16', 'gemv-f16-previous', 'vq-gemv', 'vq-gemv-lanes', 'vq-gemv', 'vq-gemv', ...onChip.map(([kernel]) => kernel), 'vq-gemv-lanes']);
    expect(result.rows.map((row) => [row.kernel, row.shape, row.config])).toEqual([
      ['copy', '16384 B', '-'],
      ['gemv-f16', '64x192', 'f16'],
      ['gemv-f16-previous', '64x192', 'f16'],
      ['vq-gemv', '64x192', 'v6-k4096'],
      ['vq-gemv-lanes', '64x192', 'v6-k4096'],
      ['vq-gemv', '64x192', 'v8-k65536-o1%v4k8192-g4'],
      ['vq-gemv', '64x192', 'v8-k256-r256'],
      ...onChip,
      ['vq-gemv-lanes', '64x192', 'v8-k256-r256'],
    ]);
    expect(result.skipped).toEqual([
      { kernel: 'vq-gemv-lanes', shape: '64x192', config: 'v8-k65536-o1%v4k8192-g4', reason: expect.stringContaining('no outlier part') },
    ]);
    // The lanes rows count the stored format's bytes, as the streaming rows of the same layout.
    const lanes = result.rows.find((row) => row.kernel === 'vq-gemv-lanes');
    expect(lanes?.bytesMoved).toBe(result.rows[3].bytesMoved);
    const [copy, gemv, previous, vq] = result.rows;
    expect(Math.max(gemv.speedupOverF16Gemv, previous.speedupOverF16Gemv)).toBe(1);
    expect(vq.speedupOverF16Gemv).toBeCloseTo(Math.min(gemv.microseconds, previous.microseconds) / vq.microseconds, 9);
    expect(result.timing).toBe(gpu.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock');
    expect(copy.bytesMoved).toBe(2 * 16384);
    expect(copy.gbPerSecond).toBeCloseTo(result.copyGbPerSecond, 9);
    // f16 weights + x + y.
    expect(gemv.bytesMoved).toBe(64 * 192 * 2 + (192 + 64) * 4);
    for (const row of result.rows) expect(row.microseconds).toBeGreaterThan(0);
    expect(vq.fractionOfCopyBandwidth).toBeCloseTo(vq.gbPerSecond / copy.gbPerSecond, 9);
  });

  it('measures extra streaming and lanes plans beside the planned ones, names their plans, and skips those the planner rejects', async () => {
    const result = await benchmarkKernels(gpu, {
      shapes: [{ outFeatures: 4096, inFeatures: 11008 }],
      configs: [defaultBenchmarkConfigs[4]],
      vqGemvKernels: ['streaming', 'lanes'],
      vqGemvPlans: [
        { name: 'vq-gemv-r1s1w64u4', options: { rowsPerWorkgroup: 1, splits: 1, workgroupSize: 64, unroll: 4 } },
        { name: 'vq-gemv-r2s3', options: { rowsPerWorkgroup: 2, splits: 3 } },
        { name: 'vq-gemv-w4096', options: { workgroupSize: 4096 } },
        { name: 'vq-gemv-lanes-f8w64', options: { kernel: 'lanes', fieldsPerLane: 8, workgroupSize: 64 } },
        // Not measured: the on-chip kernel is not in vqGemvKernels.
        { name: 'vq-gemv-onchip-p8', options: { kernel: 'onchip', persistentWorkgroups: 8 } },
      ],
      gemvVariants: [{ name: 'gemv-f16', options: {} }],
      ...tiny,
    });
    // 64×192 v8-k256-r256: 8 vector-rows, 192 fields; the streaming planner takes two rows per workgroup and one
    // split, the lanes planner one tile of 32 rows and 24 fields a lane (8 slices cover the row).
    expect(result.rows.filter((row) => row.kernel.startsWith('vq-gemv')).map((row) => [row.kernel, row.plan])).toEqual([
      ['vq-gemv', 'r2 u2 s1 w128: 4 wg'],
      ['vq-gemv-lanes', 'lanes f24 w256: 1 wg'],
      ['vq-gemv-r1s1w64u4', 'r1 u4 s1 w64: 8 wg'],
      ['vq-gemv-r2s3', 'r2 u2 s3 w128: 12 wg + reduce'],
      ['vq-gemv-lanes-f8w64', 'lanes f8 w64: 12 wg + reduce'],
    ]);
    expect(result.skipped).toEqual([
      { kernel: 'vq-gemv-w4096', shape: '64x192', config: 'v8-k256-r256', reason: expect.stringContaining('options.workgroupSize must be a power of two') },
    ]);
  });

  it('rejects a non-integer size divisor', async () => {
    await expect(benchmarkKernels(gpu, { sizeDivisor: 1.5 })).rejects.toThrow(/options.sizeDivisor must be a positive integer \(got 1.5\)/);
  });
});
