import { describe, expect, it } from 'vitest';

import { planGpuRefit, readGpuRefitTuning } from './plan-gpu-refit';
import { refitParts } from './test/refit-problem';

const h100 = {
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 40,
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeWorkgroupStorageSize: 49152,
};
const tuning = readGpuRefitTuning('test', {});

describe('planGpuRefit', () => {
  it('plans the issue’s layers matrix-free with 25 iterations: their products are large GEMMs', () => {
    const small = planGpuRefit('test', { rows: 4096, cols: 4096, parts: refitParts({ rows: 4096, cols: 4096, vectorLength: 6, numCentroids: 4096 }) }, h100, tuning);
    expect(small.blocks).toHaveLength(1);
    expect(small.blocks[0]).toMatchObject({ solver: 'cg', cgIterations: 25, unknowns: 4096, vectorRows: 683, filled: 4, matrixCount: 2, width: 4096, entryCount: 683 * 4096 });
    const layout = { rows: 14336, cols: 4096, vectorLength: 8, numCentroids: 65536, numResidualCentroids: 256 };
    const large = planGpuRefit('test', { rows: 14336, cols: 4096, parts: refitParts(layout) }, h100, tuning);
    expect(large.blocks[0]).toMatchObject({ solver: 'cg', cgIterations: 25, unknowns: 65792, vectorRows: 1792, filled: 8, hasResidual: true, entryCount: 2 * 1792 * 4096 });
    expect(large.sweeps).toBe(1);
    // An explicit cap is kept.
    const capped = planGpuRefit('test', { rows: 4096, cols: 4096, parts: refitParts({ rows: 4096, cols: 4096, vectorLength: 6, numCentroids: 4096 }) }, h100, readGpuRefitTuning('test', { cgIterations: 100 }));
    expect(capped.blocks[0]).toMatchObject({ solver: 'cg', cgIterations: 100 });
  });

  it('keeps the flop-count rule and 100 iterations where products are small (a BabyLlama-sized layer: dense)', () => {
    const plan = planGpuRefit('test', { rows: 288, cols: 288, parts: refitParts({ rows: 288, cols: 288, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 }) }, h100, tuning);
    expect(plan.blocks[0]).toMatchObject({ solver: 'dense', cgIterations: 100, unknowns: 512 });
    // 64 wide: 100 products of 64 × 64² cost less than factoring 512²: matrix-free at 100 iterations.
    const narrow = planGpuRefit('test', { rows: 64, cols: 64, parts: refitParts({ rows: 64, cols: 64, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 }) }, h100, tuning);
    expect(narrow.blocks[0]).toMatchObject({ solver: 'cg', cgIterations: 100 });
  });

  it('splits an outlier part of another vector length into its own block, sweeping between them', () => {
    // 4 groups of K = 4096 (16384 slots, above maxDenseUnknowns) and 48 outlier columns at vo = 4, Ko = 4096 (dense
    // would factor 4096² for 48 columns, far more than 100 products of 4096 × 48²).
    const plan = planGpuRefit('test', { rows: 4096, cols: 4096, parts: refitParts({ rows: 4096, cols: 4096, vectorLength: 8, numCentroids: 4096, groups: 4, outlier: { size: 48, vectorLength: 4, numCentroids: 4096 } }) }, h100, tuning);
    expect(plan.blocks.map((block) => [block.start, block.end, block.unknowns, block.solver])).toEqual([
      [48, 4096, 4 * 4096, 'cg'],
      [0, 48, 4096, 'cg'],
    ]);
    expect(plan.sweeps).toBe(4);
  });

  it("takes 'dense' where asked and it fits, and names the limit where it does not", () => {
    const parts = refitParts({ rows: 64, cols: 64, vectorLength: 4, numCentroids: 256 });
    expect(planGpuRefit('test', { rows: 64, cols: 64, parts }, h100, readGpuRefitTuning('test', { solver: 'dense' })).blocks[0].solver).toBe('dense');
    expect(() => planGpuRefit('test', { rows: 64, cols: 64, parts }, h100, readGpuRefitTuning('test', { solver: 'dense', maxDenseUnknowns: 100 }))).toThrow(
      /options.solver 'dense' needs every block within maxDenseUnknowns \(100\)/,
    );
    const small = { ...h100, maxStorageBufferBindingSize: 1 << 16 };
    expect(() => planGpuRefit('test', { rows: 64, cols: 256, parts: refitParts({ rows: 64, cols: 256, vectorLength: 4, numCentroids: 16 }) }, small, tuning)).toThrow(
      /the Hessian \(\[cols, cols\] f32\) takes 262144 bytes, above the device's maxStorageBufferBindingSize\/maxBufferSize of 65536/,
    );
  });

  it('rejects parts that do not tile the columns, v above 16 and bad options', () => {
    const parts = refitParts({ rows: 64, cols: 64, vectorLength: 4, numCentroids: 16 });
    expect(() => planGpuRefit('test', { rows: 64, cols: 65, parts }, h100, tuning)).toThrow(/layer.parts must cover the 65 columns \(they cover 64\)/);
    expect(() => planGpuRefit('test', { rows: 64, cols: 64, parts: [{ ...parts[0], vectorLength: 17, vectorRows: 4 }] }, h100, tuning)).toThrow(
      /layer.parts\[0\].vectorLength must be between 1 and 16 \(got 17\)/,
    );
    expect(() => readGpuRefitTuning('test', { sweeps: 0 })).toThrow(/options.sweeps must be an integer between 1 and 1000 \(got 0\)/);
    expect(() => readGpuRefitTuning('test', { maxDenseUnknowns: 70000 })).toThrow(/options.maxDenseUnknowns must be an integer between 1 and 65534/);
  });
});
