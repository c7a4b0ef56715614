import type { VptqPart } from '@vptq/codebook/engine';
import { describe, expect, it } from 'vitest';

import { planVptqPass, readVptqPassTuning } from './plan-vptq-pass';
import type { VptqPassLimits } from './plan-vptq-pass';

/** An H100's limits as Dawn reports them (docs/webgpu-dawn.md). */
const h100: VptqPassLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 2147483644,
  maxBufferSize: 2 ** 40,
  maxStorageBuffersPerShaderStage: 10,
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  minUniformBufferOffsetAlignment: 64,
};
const tuning = readVptqPassTuning('test', {});
/** The per-column kernels' layout (K slices, point tiles), which the sweep does not use. */
const perColumnTuning = readVptqPassTuning('test', { columnLoop: 'per-column' });
const part = (start: number, size: number, vectorLength: number, rows: number, numCentroids: number, numResidualCentroids = 0): VptqPart => ({
  start,
  size,
  vectorLength,
  vectorRows: Math.ceil(rows / vectorLength),
  numCentroids,
  numResidualCentroids,
});

describe('planVptqPass', () => {
  it('lays out an outlier part and two groups with residual entries in one codebook and one index buffer', () => {
    const rows = 30;
    const parts = [part(0, 4, 3, rows, 16), part(4, 22, 6, rows, 32, 8), part(26, 22, 6, rows, 32, 8)];
    const plan = planVptqPass('test', { rows, cols: 48, blockSize: 16, parts }, h100, tuning);
    // v = 3 pads to one vec4 word per entry, v = 6 to two.
    expect(plan.parts.map((placed) => [placed.vectorWords, placed.codebookOffset, placed.residualCodebookOffset])).toEqual([
      [1, 0, 16],
      [2, 16, 80],
      [2, 96, 160],
    ]);
    expect(plan.codebookWords).toBe(176);
    // Main indices of every part (R·size: 10·4, 5·22, 5·22), then residual indices of the groups, then flags.
    expect(plan.parts.map((placed) => [placed.indexOffset, placed.residualIndexOffset])).toEqual([
      [0, 260],
      [40, 260],
      [150, 370],
    ]);
    expect(plan.flagOffset).toBe(480);
    // One flag per sweep workgroup: the outlier part's 10 vector-rows, one per workgroup, are the most.
    expect(plan.flagCount).toBe(10);
    expect(plan.indexWords).toBe(490);
    expect(Array.from(plan.columnPart.subarray(0, 6))).toEqual([0, 0, 0, 0, 1, 1]);
    expect(plan.columnPart[47]).toBe(2);
    expect(plan.blocks).toEqual([
      [0, 16],
      [16, 32],
      [32, 48],
    ]);
    // Records on the device's uniform offset alignment: 80 bytes → 128 at 64.
    expect(plan.recordStride).toBe(128);
    expect(plan.measureTiles).toBe(1);
    // Small codebooks are searched in the finalize step itself.
    expect(plan.parts.map((placed) => [placed.searchSlices, placed.sliceEntries])).toEqual([[1, 16], [1, 32], [1, 32]]);
  });

  it('splits a large codebook over K slices until a column fills the device, one tile of entries at least', () => {
    // 14336 × 4096 at v8-k65536: R = 1792, 112 point tiles; 1024 / 112 → 10 slices of 6554 entries.
    const big = planVptqPass('test', { rows: 14336, cols: 4096, blockSize: 128, parts: [part(0, 4096, 8, 14336, 65536, 256)] }, h100, perColumnTuning);
    expect(big.parts[0]).toMatchObject({ tiles: 112, searchSlices: 10, sliceEntries: 6554, tileEntries: 256 });
    expect(big.partialEntries).toBe(10 * 1792);
    // 4096 × 4096 at v6-k4096: R = 683, 43 tiles; 4096 / 256 entries per tile caps it at 16 slices.
    const small = planVptqPass('test', { rows: 4096, cols: 4096, blockSize: 128, parts: [part(0, 4096, 6, 4096, 4096)] }, h100, perColumnTuning);
    expect(small.parts[0]).toMatchObject({ tiles: 43, searchSlices: 16, sliceEntries: 256 });
    // A forced count is kept, without empty slices: 32 entries in slices of ceil(32/3) = 11 → 3 slices.
    const forced = planVptqPass('test', { rows: 30, cols: 8, blockSize: 4, parts: [part(0, 8, 4, 30, 32)] }, h100, readVptqPassTuning('test', { columnLoop: 'per-column', searchSlices: 3 }));
    expect(forced.parts[0]).toMatchObject({ searchSlices: 3, sliceEntries: 11 });
    const excessive = planVptqPass('test', { rows: 30, cols: 8, blockSize: 4, parts: [part(0, 8, 4, 30, 4)] }, h100, readVptqPassTuning('test', { columnLoop: 'per-column', searchSlices: 9 }));
    expect(excessive.parts[0]).toMatchObject({ searchSlices: 4, sliceEntries: 1 });
  });

  it('sweeps parts of v ≤ 8 with the fewest points per workgroup that keep a dispatch within sweepWorkgroups', () => {
    // 683 vector-rows: 1 → 683, 2 → 342, 4 → 171 workgroups (≤ 256); 1792: 8 → 224.
    const v6 = planVptqPass('test', { rows: 4096, cols: 4096, blockSize: 128, parts: [part(0, 4096, 6, 4096, 4096)] }, h100, tuning);
    expect(v6.parts[0]).toMatchObject({ sweepPoints: 4, sweepTiles: 171 });
    expect(v6.flagCount).toBe(171);
    expect(v6.partialEntries).toBe(1); // no K slices to merge
    const v8 = planVptqPass('test', { rows: 14336, cols: 4096, blockSize: 128, parts: [part(0, 4096, 8, 14336, 65536, 256)] }, h100, tuning);
    expect(v8.parts[0]).toMatchObject({ sweepPoints: 8, sweepTiles: 224 });
    const forced = planVptqPass('test', { rows: 4096, cols: 4096, blockSize: 128, parts: [part(0, 4096, 6, 4096, 4096)] }, h100, readVptqPassTuning('test', { sweepPoints: 3 }));
    expect(forced.parts[0]).toMatchObject({ sweepPoints: 3, sweepTiles: 228 });
    const perColumn = planVptqPass('test', { rows: 4096, cols: 4096, blockSize: 128, parts: [part(0, 4096, 6, 4096, 4096)] }, h100, readVptqPassTuning('test', { columnLoop: 'per-column' }));
    expect(perColumn.parts[0]).toMatchObject({ sweepPoints: 0, sweepTiles: 0, tiles: 43 });
    expect(perColumn.flagCount).toBe(43);
  });

  it('cuts blocks at part boundaries, and leaves parts of v > 8 to the per-column kernels', () => {
    const rows = 30;
    const parts = [part(0, 5, 3, rows, 16), part(5, 27, 12, rows, 32)];
    const plan = planVptqPass('test', { rows, cols: 32, blockSize: 16, parts }, h100, tuning);
    expect(plan.blockRanges).toEqual([
      [
        { start: 0, end: 5, part: 0 },
        { start: 5, end: 16, part: 1 },
      ],
      [{ start: 16, end: 32, part: 1 }],
    ]);
    expect(plan.parts.map((placed) => placed.sweepPoints)).toEqual([1, 0]);
    // Flags for the sweep's 10 workgroups (one vector-row each) and the column kernel's 1 tile of 16.
    expect(plan.flagCount).toBe(10);
  });

  it('names the device limit a layer exceeds', () => {
    const layer = { rows: 4096, cols: 4096, blockSize: 128, parts: [part(0, 4096, 8, 4096, 256)] };
    const plan = (limits: Partial<VptqPassLimits>, options = {}) => () =>
      planVptqPass('openLayer', layer, { ...h100, ...limits }, readVptqPassTuning('test', options));
    expect(plan({ maxStorageBufferBindingSize: 32 << 20 })).toThrow(
      /openLayer: the outputs \(rows·cols f32\) take 67108864 bytes, above the device's maxStorageBufferBindingSize of 33554432/,
    );
    // 64 MiB holds a 4096² f32 matrix exactly: the limit is inclusive.
    expect(plan({ maxStorageBufferBindingSize: 64 << 20 })).not.toThrow();
    expect(plan({ maxBufferSize: 1 << 20 })).toThrow(/above the device's maxBufferSize of 1048576/);
    expect(plan({ maxStorageBuffersPerShaderStage: 6 })).toThrow(/binds 7 storage buffers, above the device's maxStorageBuffersPerShaderStage of 6/);
    expect(plan({ maxComputeInvocationsPerWorkgroup: 128 })).toThrow(/workgroups of 256, above the device's maxComputeInvocationsPerWorkgroup \(128\)/);
    const perColumn = { columnLoop: 'per-column' } as const;
    expect(plan({ maxComputeWorkgroupStorageSize: 8192 }, perColumn)).toThrow(/needs 10884 bytes of workgroup memory .* above the device's maxComputeWorkgroupStorageSize of 8192/);
    expect(plan({ maxComputeWorkgroupsPerDimension: 16 }, { ...perColumn, pointsPerWorkgroup: 1 })).toThrow(/512 workgroups for point tiles .* maxComputeWorkgroupsPerDimension of 16/);
    expect(plan({ maxComputeWorkgroupsPerDimension: 256 }, { sweepPoints: 1 })).toThrow(/512 workgroups for sweep workgroups of a part with R = 512, above the device's maxComputeWorkgroupsPerDimension of 256/);
  });

  it('rejects bad sweep options with the option and what was expected', () => {
    expect(() => readVptqPassTuning('f', { columnLoop: 'diagonal' as 'sweep' })).toThrow(/f: columnLoop must be 'sweep' or 'per-column' \(got diagonal\)/);
    expect(() => readVptqPassTuning('f', { sweepPoints: 17 })).toThrow(/f: sweepPoints must be an integer between 1 and 16 \(got 17\)/);
    expect(() => readVptqPassTuning('f', { sweepPoints: 0 })).toThrow(/sweepPoints must be an integer between 1 and 16 \(got 0\)/);
    expect(() => readVptqPassTuning('f', { sweepWorkgroups: 1.5 })).toThrow(/f: sweepWorkgroups must be an integer ≥ 1 \(got 1.5\)/);
  });

  it('rejects parts that do not tile the columns, or vectors longer than 16', () => {
    const plan = (parts: VptqPart[]) => () => planVptqPass('openLayer', { rows: 30, cols: 8, blockSize: 4, parts }, h100, tuning);
    expect(plan([part(0, 4, 4, 30, 8)])).toThrow(/layer.parts must cover the 8 columns \(they cover 4\)/);
    expect(plan([part(0, 4, 4, 30, 8), part(5, 3, 4, 30, 8)])).toThrow(/layer.parts\[1\] must start at column 4/);
    expect(plan([part(0, 8, 17, 30, 8)])).toThrow(/layer.parts\[0\].vectorLength must be an integer between 1 and 16 on the GPU \(got 17\)/);
    expect(plan([{ ...part(0, 8, 4, 30, 8), vectorRows: 7 }])).toThrow(/vectorRows must be ceil\(rows \/ vectorLength\) = 8 \(got 7\)/);
    expect(() => planVptqPass('openLayer', { rows: 70000, cols: 40000, blockSize: 4, parts: [part(0, 40000, 4, 70000, 8)] }, h100, tuning)).toThrow(
      /element offsets beyond u32/,
    );
  });
});
