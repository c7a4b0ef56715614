import { getVptqLayerLayout, packedRowWords } from '@vptq/pack-format';
import { describe, expect, it } from 'vitest';

import { codebookEntryStride } from '../vq-layer/upload-vq-layer';
import type { CodebookFormatCode } from '../vq-layer/upload-vq-layer';
import { planVqGemv, planVqGemvChunks, planVqGemvPart } from './plan-vq-gemv';
import type { VqGemvDeviceLimits, VqGemvLayerPlacement } from './plan-vq-gemv';
import { vqGemvTableWords } from './vq-gemv-params';
import { vqGemvWgsl } from './vq-gemv.wgsl';

const h100: VqGemvDeviceLimits = {
  limits: { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152, maxComputeWorkgroupsPerDimension: 65535 },
  subgroups: true,
};
const baseline: VqGemvDeviceLimits = {
  limits: { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384, maxComputeWorkgroupsPerDimension: 65535 },
  subgroups: false,
};

interface LayerShape {
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly vectorLength: number;
  readonly numCentroids: number;
  readonly numResidualCentroids?: number;
  readonly groupNum?: number;
  readonly outlierSize?: number;
  readonly outlierVectorLength?: number;
  readonly numOutlierCentroids?: number;
  readonly bias?: boolean;
  /** Codebook format of every codebook: 0 f32, 1 f16 (default), 2 bf16. */
  readonly format?: CodebookFormatCode;
}

/** A layer with norm and perm as `uploadVqLayer` places it, with `words` overriding the offsets (0 by default). */
function placement(shape: LayerShape, words: Partial<VqGemvLayerPlacement['words']> = {}): VqGemvLayerPlacement {
  const outlierSize = shape.outlierSize ?? 0;
  const groups = shape.groupNum ?? 1;
  const layout = getVptqLayerLayout({
    inFeatures: shape.inFeatures,
    outFeatures: shape.outFeatures,
    vectorLength: shape.vectorLength,
    numCentroids: shape.numCentroids,
    numResidualCentroids: shape.numResidualCentroids ?? 0,
    outlierVectorLength: shape.outlierVectorLength ?? 0,
    numOutlierCentroids: shape.numOutlierCentroids ?? 0,
    groupNum: groups,
    groupSize: (shape.inFeatures - outlierSize) / groups,
    outlierSize,
    enableNorm: true,
    enablePerm: true,
    indicesAsFloat: false,
    bias: shape.bias ?? false,
  });
  const format = shape.format ?? 1;
  return {
    layout,
    centroidFormat: format,
    centroidStride: codebookEntryStride(layout.vectorLength, format),
    residualFormat: format,
    residualStride: codebookEntryStride(layout.vectorLength, format),
    outlierFormat: format,
    outlierStride: layout.hasOutliers ? codebookEntryStride(layout.outlierVectorLength, format) : codebookEntryStride(layout.vectorLength, format),
    outlierRowWords: layout.hasOutliers ? packedRowWords(layout.outlierSize, Math.log2(layout.numOutlierCentroids)) : 0,
    words: {
      indices: 0,
      centroids: 0,
      residualCentroids: layout.hasResidual ? 0 : undefined,
      outlierIndices: layout.hasOutliers ? 0 : undefined,
      outlierCentroids: layout.hasOutliers ? 0 : undefined,
      perm: 0,
      norm: 0,
      bias: shape.bias ? 0 : undefined,
      ...words,
    },
  };
}

/** The layer table from one row of 12 words per layer. */
function table(...rows: readonly number[][]): Uint32Array {
  const words = new Uint32Array(vqGemvTableWords);
  rows.forEach((row, index) => words.set(row, 12 * index));
  return words;
}

/** The constants every pinned plan shares unless it says otherwise. */
const f16Constants = {
  workgroupSize: 128,
  centroidFormat: 1,
  residualFormat: 1,
  residualBits: 0,
  entryWords: 4,
  residualEntryWords: 4,
  alignedChunks: true,
  hasPerm: true,
  hasNorm: true,
  hasBias: false,
  swigluInput: false,
  normalizeInput: false,
};

describe('planVqGemvChunks', () => {
  it('reads whole words: 2 fields of 16 bits, 8 of 12, 4 of 24, 32 of 5; fields of 13 bits one at a time', () => {
    expect(planVqGemvChunks(16)).toEqual({ aligned: true, chunkFields: 2, chunkWords: 1, unroll: 4 });
    expect(planVqGemvChunks(12)).toEqual({ aligned: true, chunkFields: 8, chunkWords: 3, unroll: 1 });
    expect(planVqGemvChunks(24)).toEqual({ aligned: true, chunkFields: 4, chunkWords: 3, unroll: 2 });
    expect(planVqGemvChunks(5)).toEqual({ aligned: true, chunkFields: 32, chunkWords: 5, unroll: 1 });
    expect(planVqGemvChunks(32)).toEqual({ aligned: true, chunkFields: 1, chunkWords: 1, unroll: 8 });
    expect(planVqGemvChunks(13)).toEqual({ aligned: false, chunkFields: 1, chunkWords: 2, unroll: 1 });
  });
});

describe('planVqGemvPart', () => {
  it('splits columns for about the target number of workgroups, keeping two iterations (2 × 4 fields) per invocation', () => {
    expect(planVqGemvPart({ rows: 512, groups: 1, fieldsPerRow: 11008 }, { workgroupSize: 64, targetWorkgroups: 2048 })).toEqual({ fieldsPerSplit: 2752, splits: 4 });
    // Splits start on whole chunks: 8 fields of 12 bits per 3 words.
    expect(planVqGemvPart({ rows: 8, groups: 1, fieldsPerRow: 1000 }, { workgroupSize: 16, splits: 3, fieldsPerChunk: 8 })).toEqual({ fieldsPerSplit: 336, splits: 3 });
    expect(planVqGemvPart({ rows: 4, groups: 1, fieldsPerRow: 300 }, { workgroupSize: 64 })).toEqual({ fieldsPerSplit: 300, splits: 1 });
    expect(planVqGemvPart({ rows: 4, groups: 1, fieldsPerRow: 300 }, { splits: 7 }).splits).toBe(7);
  });
});

// LLaMA-2-7B's projections on a 132-SM H100/H200 (issue 10): the planner used to keep every layer at one split,
// so 4096-output layers got 342–512 workgroups of 128 (2.6–3.9 per SM, at most a quarter of the threads), and
// v8-k256-r256 took 150 µs at 4096×11008 on an H200. Every plan must now fill the SMs several times over
// without idle invocations, read its index words in whole, neighbouring words, and keep about 8 fields in flight.
describe('planVqGemv at the LLaMA-2-7B shapes', () => {
  const sms = 132;
  const configs = [
    { name: 'v8-k256-r256', vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 },
    { name: 'v6-k4096', vectorLength: 6, numCentroids: 4096 },
    { name: 'v8-k65536', vectorLength: 8, numCentroids: 65536 },
    { name: 'v4-k256-r16', vectorLength: 4, numCentroids: 256, numResidualCentroids: 16 },
  ];
  const shapes = [
    { outFeatures: 4096, inFeatures: 4096 },
    { outFeatures: 11008, inFeatures: 4096 },
    { outFeatures: 4096, inFeatures: 11008 },
  ];
  const summary = (config: (typeof configs)[number], shape: (typeof shapes)[number], swiglu = false) => {
    const plan = planVqGemv([placement({ ...config, ...shape })], { tokens: 1, swigluUpOffset: swiglu ? shape.inFeatures : undefined }, {}, h100);
    const [pass] = plan.passes;
    return { plan, pass, workgroups: pass.workgroups[0] * pass.workgroups[1] * pass.workgroups[2] };
  };

  for (const config of configs) {
    for (const shape of shapes) {
      for (const swiglu of shape.inFeatures === 11008 ? [false, true] : [false]) {
        it(`${config.name} ${shape.outFeatures}×${shape.inFeatures}${swiglu ? ' (SwiGLU input)' : ''}: ≥ 4 workgroups per SM, no idle invocation, whole-word index reads`, () => {
          const { plan, pass, workgroups } = summary(config, shape, swiglu);
          expect(workgroups).toBeGreaterThanOrEqual(4 * sms);
          const { chunkFields, chunkWords, unroll, workgroupSize, alignedChunks } = pass.constants;
          const { fieldsPerRow, fieldsPerSplit, splits } = pass.params;
          // Every invocation, in every split (the last one included), has at least one full iteration.
          const perIteration = chunkFields * unroll * workgroupSize;
          expect(Math.min(fieldsPerSplit, fieldsPerRow - (splits - 1) * fieldsPerSplit)).toBeGreaterThanOrEqual(perIteration);
          // Splits start on whole words; lane i reads chunk i (≤ 3 words), so a warp's loads span neighbouring words.
          expect(alignedChunks).toBe(true);
          expect(chunkWords).toBeLessThanOrEqual(3);
          expect(fieldsPerSplit % chunkFields).toBe(0);
          // About 8 fields in flight per invocation (over its rows), as the one-row v8-k65536 plan measured.
          expect(chunkFields * unroll * plan.rowsPerWorkgroup).toBeGreaterThanOrEqual(8);
          expect(chunkFields * unroll * plan.rowsPerWorkgroup).toBeLessThanOrEqual(16);
        });
      }
    }
  }

  it('pins the plans: [rows per workgroup, unroll, splits, workgroups] per config at 4096², 11008×4096, 4096×11008', () => {
    const table = Object.fromEntries(
      configs.map((config) => [
        config.name,
        shapes.map((shape) => {
          const { plan, pass, workgroups } = summary(config, shape);
          return [plan.rowsPerWorkgroup, pass.constants.unroll, pass.params.splits, workgroups];
        }),
      ]),
    );
    expect(table).toEqual({
      // Two rows share the x/perm/norm reads (L1-resident codebooks); before: [1, 4, 1, 512], [1, 4, 1, 1376], [1, 4, 1, 512].
      // The H100 sweep of 2026-12-07 (µs, old plan → these): 11008×4096 31.3 → 29.3, 4096×11008 40.5 → 31.3.
      'v8-k256-r256': [
        [2, 2, 4, 1024],
        [2, 2, 1, 688],
        [2, 2, 4, 1024],
      ],
      // Before: [2, 1, 1, 342], [2, 1, 1, 918], [2, 1, 1, 342].
      'v6-k4096': [
        [2, 1, 2, 684],
        [2, 1, 1, 918],
        [2, 1, 3, 1026],
      ],
      // Before: [1, 4, 1, 512], [1, 4, 1, 1376], [1, 4, 1, 512].
      'v8-k65536': [
        [1, 4, 2, 1024],
        [1, 4, 1, 1376],
        [1, 4, 2, 1024],
      ],
      // Before: [2, 1, 1, 512], [2, 1, 1, 1376], [2, 1, 1, 512].
      'v4-k256-r16': [
        [2, 1, 2, 1024],
        [2, 1, 1, 1376],
        [2, 1, 2, 1024],
      ],
    });
  });

  it('normalizing stacks (q|k|v, gate|up: one split) keep ≥ 4 workgroups per SM', () => {
    for (const config of configs) {
      const qkv = [4096, 4096, 4096].map((outFeatures) => placement({ ...config, outFeatures, inFeatures: 4096 }));
      const gateUp = [11008, 11008].map((outFeatures) => placement({ ...config, outFeatures, inFeatures: 4096 }));
      for (const layers of [qkv, gateUp]) {
        const [pass] = planVqGemv(layers, { tokens: 1, normalizeInput: { epsilon: 1e-5 } }, {}, h100).passes;
        expect(pass.params.splits).toBe(1);
        expect(pass.workgroups[0]).toBeGreaterThanOrEqual(4 * sms);
      }
    }
  });
});

// Expected plans recorded from createVqGemvDispatch before the planner was split out of it (commit 3867c77),
// on a mock device, so that the refactoring provably dispatches the same grids with the same uniforms.
describe('planVqGemv', () => {
  it('4096×4096 v8-k65536: one row per workgroup, two column splits (two iterations each): 1024 workgroups and a reduction', () => {
    const plan = planVqGemv([placement({ outFeatures: 4096, inFeatures: 4096, vectorLength: 8, numCentroids: 65536 })], { tokens: 1 }, {}, h100);
    expect(plan).toEqual({
      workgroupSize: 128,
      rowsPerWorkgroup: 1,
      slots: 2,
      passes: [
        {
          part: 'main',
          variant: 'subgroups',
          constants: { ...f16Constants, vectorLength: 8, indexBits: 16, chunkFields: 2, chunkWords: 1, unroll: 4, directOutput: false, rowsPerWorkgroup: 1 },
          params: {
            rowWords: 2048,
            fieldsPerRow: 4096,
            columnOffset: 0,
            fieldsPerSplit: 2048,
            splits: 2,
            slot: 0,
            xStride: 4096,
            yStride: 4096,
            tokens: 1,
            inFeatures: 4096,
            projections: 1,
            partialStride: 4096,
            groupCentroidWords: 262144,
            groupResidualWords: 0,
            upOffset: 0,
            epsilon: 0,
            table: table([0, 0, 0, 0, 0, 0, 0, 4096, 0, 512, 0, 0]),
          },
          workgroups: [512, 2, 1],
        },
      ],
      reduce: {
        constants: { workgroupSize: 256 },
        params: { outputs: 4096, tokens: 1, slots: 2, yStride: 4096 },
        workgroups: [16, 1, 1],
        partialsByteLength: 2 * 4096 * 4,
      },
    });
  });

  it('4096×11008 v6-k4096: two rows per workgroup by default (12-bit fields, one chunk per iteration), 3 column splits: 1026 workgroups', () => {
    const layer = placement({ outFeatures: 4096, inFeatures: 11008, vectorLength: 6, numCentroids: 4096 });
    const plan = planVqGemv([layer], { tokens: 1 }, {}, h100);
    expect(plan.rowsPerWorkgroup).toBe(2);
    expect(plan.reduce?.params).toEqual({ outputs: 4096, tokens: 1, slots: 3, yStride: 4096 });
    expect(plan.passes).toEqual([
      {
        part: 'main',
        variant: 'subgroups',
        constants: { ...f16Constants, vectorLength: 6, indexBits: 12, chunkFields: 8, chunkWords: 3, unroll: 1, directOutput: false, rowsPerWorkgroup: 2 },
        params: {
          rowWords: 4128,
          fieldsPerRow: 11008,
          columnOffset: 0,
          fieldsPerSplit: 3672,
          splits: 3,
          slot: 0,
          xStride: 11008,
          yStride: 4096,
          tokens: 1,
          inFeatures: 11008,
          projections: 1,
          partialStride: 4096,
          groupCentroidWords: 16384,
          groupResidualWords: 0,
          upOffset: 0,
          epsilon: 0,
          table: table([0, 0, 0, 0, 0, 0, 0, 4096, 0, 683, 0, 0]),
        },
        workgroups: [342, 3, 1],
      },
    ]);
    // The down projection reading SwiGLU from [gate | up]: the same grid, a wider x.
    const down = planVqGemv([layer], { tokens: 1, swigluUpOffset: 11008 }, {}, h100).passes[0];
    expect(down.workgroups).toEqual([342, 3, 1]);
    expect(down.constants.swigluInput).toBe(true);
    expect([down.params.xStride, down.params.upOffset]).toEqual([22016, 11008]);
  });

  it('stacked q/k/v of 4096, 1024 and 1024 outputs (GQA), normalizing x: one dispatch of 768 workgroups', () => {
    const shape = { inFeatures: 4096, vectorLength: 8, numCentroids: 65536 };
    // Word offsets of the layers in the shared buffers, as uploadVqLayers lays them out.
    const layers = [
      placement({ ...shape, outFeatures: 4096 }),
      placement({ ...shape, outFeatures: 1024 }, { indices: 1048640, centroids: 262208, perm: 4096, norm: 8192 }),
      placement({ ...shape, outFeatures: 1024 }, { indices: 1310848, centroids: 524416, perm: 8192, norm: 16384 }),
    ];
    const plan = planVqGemv(layers, { tokens: 1, normalizeInput: { epsilon: 1e-5 } }, {}, h100);
    expect(plan.slots).toBe(1);
    expect(plan.reduce).toBeUndefined();
    expect(plan.passes).toEqual([
      {
        part: 'main',
        variant: 'subgroups',
        constants: { ...f16Constants, vectorLength: 8, indexBits: 16, chunkFields: 2, chunkWords: 1, unroll: 4, directOutput: true, rowsPerWorkgroup: 1, normalizeInput: true },
        params: {
          rowWords: 2048,
          fieldsPerRow: 4096,
          columnOffset: 0,
          fieldsPerSplit: 4096,
          splits: 1,
          slot: 0,
          xStride: 4096,
          yStride: 6144,
          tokens: 1,
          inFeatures: 4096,
          projections: 3,
          partialStride: 6144,
          groupCentroidWords: 262144,
          groupResidualWords: 0,
          upOffset: 0,
          epsilon: 1e-5,
          table: table(
            [0, 0, 0, 0, 0, 0, 0, 4096, 0, 512, 0, 0],
            [512, 1048640, 262208, 0, 4096, 8192, 4096, 1024, 0, 128, 0, 0],
            [640, 1310848, 524416, 0, 8192, 16384, 5120, 1024, 0, 128, 0, 0],
          ),
        },
        workgroups: [768, 1, 1],
      },
    ]);
  });

  it('a stack with outliers, 4 groups, a residual codebook and bias: two parts, five slots and a reduction', () => {
    const shape = {
      inFeatures: 4096,
      vectorLength: 8,
      numCentroids: 65536,
      numResidualCentroids: 256,
      groupNum: 4,
      outlierSize: 44,
      outlierVectorLength: 4,
      numOutlierCentroids: 8192,
      bias: true,
    };
    const layers = [
      placement({ ...shape, outFeatures: 4096 }),
      placement(
        { ...shape, outFeatures: 1024 },
        { indices: 1556544, centroids: 1048640, residualCentroids: 4160, outlierIndices: 18496, outlierCentroids: 16448, perm: 4096, norm: 8192, bias: 4096 },
      ),
      placement(
        { ...shape, outFeatures: 1024 },
        { indices: 1945728, centroids: 2097280, residualCentroids: 8320, outlierIndices: 23168, outlierCentroids: 32896, perm: 8192, norm: 16384, bias: 5120 },
      ),
    ];
    const plan = planVqGemv(layers, { tokens: 1 }, {}, h100);
    const shared = { xStride: 4096, yStride: 6144, tokens: 1, inFeatures: 4096, projections: 3, partialStride: 6144, upOffset: 0, epsilon: 0 };
    expect(plan).toEqual({
      workgroupSize: 128,
      rowsPerWorkgroup: 1,
      slots: 5,
      passes: [
        {
          part: 'main',
          variant: 'subgroups',
          constants: {
            ...f16Constants,
            vectorLength: 8,
            indexBits: 16,
            residualBits: 8,
            chunkFields: 4,
            chunkWords: 3,
            unroll: 2,
            directOutput: false,
            hasBias: true,
            rowsPerWorkgroup: 1,
          },
          params: {
            ...shared,
            rowWords: 760,
            fieldsPerRow: 1013,
            columnOffset: 44,
            fieldsPerSplit: 1016,
            splits: 1,
            slot: 0,
            groupCentroidWords: 262144,
            groupResidualWords: 1024,
            table: table(
              [0, 0, 0, 0, 0, 0, 0, 4096, 0, 512, 0, 0],
              [512, 1556544, 1048640, 4160, 4096, 8192, 4096, 1024, 4096, 128, 0, 0],
              [640, 1945728, 2097280, 8320, 8192, 16384, 5120, 1024, 5120, 128, 0, 0],
            ),
          },
          workgroups: [768, 1, 4],
        },
        {
          part: 'outliers',
          variant: 'subgroups',
          constants: {
            ...f16Constants,
            vectorLength: 4,
            indexBits: 13,
            entryWords: 2,
            residualEntryWords: 1,
            alignedChunks: false,
            chunkFields: 1,
            chunkWords: 2,
            unroll: 1,
            directOutput: false,
            hasBias: true,
            rowsPerWorkgroup: 1,
          },
          params: {
            ...shared,
            rowWords: 18,
            fieldsPerRow: 44,
            columnOffset: 0,
            fieldsPerSplit: 44,
            splits: 1,
            slot: 4,
            groupCentroidWords: 0,
            groupResidualWords: 0,
            table: table(
              [0, 0, 0, 0, 0, 0, 0, 4096, 0, 1024, 0, 0],
              [1024, 18496, 16448, 0, 4096, 8192, 4096, 1024, 4096, 256, 0, 0],
              [1280, 23168, 32896, 0, 8192, 16384, 5120, 1024, 5120, 256, 0, 0],
            ),
          },
          workgroups: [1536, 1, 1],
        },
      ],
      reduce: {
        constants: { workgroupSize: 256 },
        params: { outputs: 6144, tokens: 1, slots: 5, yStride: 6144 },
        workgroups: [24, 1, 1],
        partialsByteLength: 5 * 6144 * 4,
      },
    });
    // Two rows per workgroup and 3 tokens: half as many tiles, each layer starting on a tile of its own.
    const paired = planVqGemv(layers, { tokens: 3 }, { rowsPerWorkgroup: 2 }, h100);
    expect(paired.passes.map(({ workgroups, params }) => [workgroups, [0, 12, 24].map((word) => params.table[word])])).toEqual([
      [[384, 1, 12], [0, 256, 320]],
      [[768, 1, 3], [0, 512, 640]],
    ]);
    expect(paired.reduce?.workgroups).toEqual([24, 3, 1]);
  });

  it('a small bf16 layer without subgroups: 4 column splits of whole chunks, 3 tokens', () => {
    const layer = placement({
      outFeatures: 37,
      inFeatures: 5 + 2 * 301,
      vectorLength: 8,
      numCentroids: 256,
      numResidualCentroids: 16,
      groupNum: 2,
      outlierSize: 5,
      outlierVectorLength: 3,
      numOutlierCentroids: 64,
      bias: true,
      format: 2,
    });
    const plan = planVqGemv([layer], { tokens: 3 }, { useSubgroups: false, splits: 4, workgroupSize: 16 }, baseline);
    expect(plan.rowsPerWorkgroup).toBe(2);
    expect(plan.passes.map(({ part, variant, workgroups, params }) => [part, variant, workgroups, params.fieldsPerSplit, params.splits, params.slot])).toEqual([
      ['main', 'workgroup', [3, 4, 6], 80, 4, 0],
      ['outliers', 'workgroup', [7, 1, 3], 16, 1, 8],
    ]);
    expect(plan.passes.map(({ constants }) => [constants.chunkFields, constants.chunkWords, constants.unroll, constants.entryWords])).toEqual([
      [8, 3, 1, 4],
      [16, 3, 1, 2],
    ]);
    expect(plan.passes.map(({ params }) => params.table.subarray(0, 12))).toEqual([
      Uint32Array.of(0, 0, 0, 0, 0, 0, 0, 37, 0, 5, 0, 0),
      Uint32Array.of(0, 0, 0, 0, 0, 0, 0, 37, 0, 13, 0, 0),
    ]);
    expect(plan.reduce).toEqual({
      constants: { workgroupSize: 256 },
      params: { outputs: 37, tokens: 3, slots: 9, yStride: 37 },
      workgroups: [1, 3, 1],
      partialsByteLength: 9 * 3 * 37 * 4,
    });
  });

  it('rejects what the kernel cannot run, with the messages of createVqGemvDispatch', () => {
    const small = placement({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256 });
    const fn = 'createVqGemvDispatch';
    expect(() => planVqGemv([small], { tokens: 9 }, {}, h100)).toThrow(`${fn}: shape.tokens must be an integer between 1 and 8 (got 9)`);
    expect(() => planVqGemv([small], { tokens: 1, xStride: 10 }, {}, h100)).toThrow(`${fn}: shape.xStride must be an integer ≥ 64 (got 10)`);
    expect(() => planVqGemv([small], { tokens: 1 }, { workgroupSize: 3 }, baseline)).toThrow(`${fn}: options.workgroupSize must be a power of two ≤ 256 (got 3)`);
    expect(() => planVqGemv([small], { tokens: 1 }, { rowsPerWorkgroup: 3 as 1 }, h100)).toThrow(`${fn}: options.rowsPerWorkgroup must be 1 or 2 (got 3)`);
    // 12-bit fields: 8 to a 3-word chunk, so at most 2 chunks per iteration (the kernel holds 9 index words).
    const twelveBit = placement({ outFeatures: 12, inFeatures: 64, vectorLength: 6, numCentroids: 4096 });
    expect(planVqGemv([twelveBit], { tokens: 1 }, { unroll: 2 }, h100).passes[0].constants.unroll).toBe(2);
    expect(() => planVqGemv([twelveBit], { tokens: 1 }, { unroll: 4 }, h100)).toThrow(`${fn}: options.unroll must be an integer with unroll × 3 index words ≤ 8 (got 4)`);
    expect(() => planVqGemv([small], { tokens: 1, normalizeInput: { epsilon: -1 } }, {}, h100)).toThrow(`${fn}: shape.normalizeInput.epsilon must be a finite number ≥ 0 (got -1)`);
    expect(() => planVqGemv([small], { tokens: 1, normalizeInput: { epsilon: 0 }, swigluUpOffset: 64 }, {}, h100)).toThrow(
      `${fn}: shape.normalizeInput and shape.swigluUpOffset exclude each other`,
    );
    const grouped = placement({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256, groupNum: 2 });
    expect(() => planVqGemv([grouped], { tokens: 1, normalizeInput: { epsilon: 0 } }, {}, h100)).toThrow(`${fn}: shape.normalizeInput needs layers with one group and no outliers (got G 2, O 0)`);
    const long = placement({ outFeatures: 64, inFeatures: 32, vectorLength: 32, numCentroids: 16 });
    expect(() => planVqGemv([long], { tokens: 1 }, {}, h100)).toThrow(`${fn}: the vector length must be at most 16 (got 32); use dequantization + GEMV`);
    const wide = placement({ outFeatures: 16, inFeatures: 64, vectorLength: 16, numCentroids: 256 });
    expect(() => planVqGemv([wide], { tokens: 1 }, { useSubgroups: false, workgroupSize: 256 }, baseline)).toThrow(
      `${fn}: the reduction needs 16448 bytes of workgroup memory, above maxComputeWorkgroupStorageSize (16384); lower options.workgroupSize`,
    );
    const tall = placement({ outFeatures: 8 * 700, inFeatures: 64, vectorLength: 8, numCentroids: 256 });
    const narrow = { ...h100, limits: { ...h100.limits, maxComputeWorkgroupsPerDimension: 600 } };
    expect(() => planVqGemv([tall], { tokens: 1 }, { rowsPerWorkgroup: 1 }, narrow)).toThrow(`${fn}: the dispatch needs 700 × 1 × 1 workgroups, above the device's maxComputeWorkgroupsPerDimension of 600`);
  });

  it('sets exactly the overrides of the main pass that have no derived default', () => {
    const plan = planVqGemv([placement({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256 })], { tokens: 1 }, {}, h100);
    const overrides = [...vqGemvWgsl.matchAll(/^override (\w+): \w+ = ([^;]+);/gm)];
    const settable = overrides.filter(([, , initial]) => /^(true|false|\d+)$/.test(initial)).map(([, name]) => name);
    expect(Object.keys(plan.passes[0].constants).sort()).toEqual(settable.sort());
  });
});
