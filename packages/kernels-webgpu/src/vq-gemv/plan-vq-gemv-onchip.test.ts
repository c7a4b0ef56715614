import { getVptqLayerLayout } from '@vptq/pack-format';
import { describe, expect, it } from 'vitest';

import { planVqGemvOnChip } from './plan-vq-gemv-onchip';
import type { VqGemvLayerPlacement } from './plan-vq-gemv';

const h100 = { limits: { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152, maxComputeWorkgroupsPerDimension: 65535 }, subgroups: true };

function placement(out: number, inFeatures: number, v: number, k: number, kr = 0, extra: Partial<Parameters<typeof getVptqLayerLayout>[0]> = {}): VqGemvLayerPlacement {
  const layout = getVptqLayerLayout({
    inFeatures,
    outFeatures: out,
    vectorLength: v,
    numCentroids: k,
    numResidualCentroids: kr,
    outlierSize: 0,
    outlierVectorLength: 0,
    numOutlierCentroids: 0,
    groupNum: 1,
    groupSize: inFeatures,
    enablePerm: true,
    enableNorm: true,
    indicesAsFloat: false,
    bias: false,
    ...extra,
  });
  const stride = v <= 2 ? 2 : v <= 4 ? 4 : Math.ceil(v / 8) * 8;
  return {
    layout,
    centroidFormat: 1,
    centroidStride: stride,
    residualFormat: 1,
    residualStride: stride,
    outlierFormat: 1,
    outlierStride: 0,
    outlierRowWords: 0,
    words: { indices: 0, centroids: 0, residualCentroids: kr > 0 ? 1024 : undefined, perm: 0, norm: 0 },
  };
}

describe('planVqGemvOnChip', () => {
  it('fills an H100 workgroup with v8-k256-r256: 8 copies of the main entries, 4 of the residual (48 KiB), blocks', () => {
    const plan = planVqGemvOnChip([placement(4096, 11008, 8, 256, 256)], { tokens: 1 }, {}, h100);
    if (plan.kernel !== 'onchip') throw new Error(plan.reason);
    expect(plan.layout).toBe('blocks');
    expect([plan.constants.replicas, plan.constants.residualReplicas]).toEqual([8, 4]);
    expect(plan.tableBytes).toBe(256 * 8 * 16 + 256 * 4 * 16);
    expect(plan.constants.residualOffset).toBe(256 * 8);
    // 512 vector-rows; 528 workgroups × 8 subgroups of 32 → 4224 items wanted → 8 splits of 1376 fields.
    expect([plan.params.splits, plan.params.fieldsPerSplit, plan.params.items]).toEqual([8, 1376, 4096]);
    expect(plan.workgroups).toEqual([512, 1, 1]);
    expect(plan.reduce?.params.slots).toBe(8);
    // perm and norm: the prepare pass, 43 blocks of 256 positions.
    expect(plan.prepare?.workgroups).toEqual([43, 1, 1]);
    expect(plan.params.betaBlocks).toBe(43);
  });

  it('fits v6-k4096 f16 in exactly 48 KiB as unpadded 12-byte words, one copy', () => {
    const plan = planVqGemvOnChip([placement(11008, 4096, 6, 4096)], { tokens: 1 }, {}, h100);
    if (plan.kernel !== 'onchip') throw new Error(plan.reason);
    expect(plan.layout).toBe('words');
    expect(plan.tableBytes).toBe(49152);
    expect([plan.constants.sharedWords, plan.constants.replicas]).toEqual([3, 1]);
    expect([plan.constants.chunkFields, plan.constants.chunkWords, plan.constants.unroll]).toEqual([8, 3, 1]);
  });

  it('refuses what it does not cover, naming why', () => {
    expect(planVqGemvOnChip([placement(4096, 4096, 8, 65536)], { tokens: 1 }, {}, h100)).toEqual({
      kernel: 'streaming',
      reason: 'the codebooks need 1048576 bytes of workgroup memory, above maxComputeWorkgroupStorageSize (49152)',
    });
    expect(planVqGemvOnChip([placement(4096, 4096, 8, 256)], { tokens: 1 }, {}, { ...h100, subgroups: false }).kernel).toBe('streaming');
    expect(planVqGemvOnChip([placement(4096, 4096, 8, 256)], { tokens: 1 }, { useSubgroups: false }, h100).kernel).toBe('streaming');
    expect(planVqGemvOnChip([placement(64, 300, 4, 8192)], { tokens: 1 }, {}, h100)).toEqual({ kernel: 'streaming', reason: '13-bit fields do not form word-aligned chunks' });
  });

  it('shares the budget across a stack and takes the persistent grid and replicas from the options', () => {
    const layers = [placement(4096, 4096, 8, 256, 256), placement(1024, 4096, 8, 256, 256), placement(1024, 4096, 8, 256, 256)];
    const plan = planVqGemvOnChip(layers, { tokens: 1 }, { persistentWorkgroups: 132, maxReplicas: 2 }, h100);
    if (plan.kernel !== 'onchip') throw new Error(plan.reason);
    expect([plan.constants.replicas, plan.constants.residualReplicas]).toEqual([2, 2]);
    expect(plan.tableBytes).toBe(3 * (256 * 2 + 256 * 2) * 16);
    expect(plan.params.rows).toBe(512 + 128 + 128);
    expect(plan.workgroups[0]).toBeLessThanOrEqual(132);
    expect(Array.from(plan.params.table.subarray(0, 16))).toEqual([0, 0, 0, 1024, 0, 4096, 0, 0, 512, 0, 0, 1024, 4096, 1024, 0, 0]);
  });

  it('combines SwiGLU inputs and sums Σx² in the prepare pass, even without perm or norm', () => {
    const bare = { ...placement(4096, 11008, 8, 256, 256), words: { indices: 0, centroids: 0, residualCentroids: 1024 } };
    expect(planVqGemvOnChip([bare], { tokens: 1 }, {}, h100)).toMatchObject({ kernel: 'onchip', prepare: undefined, params: { betaBlocks: 0 } });
    const swiglu = planVqGemvOnChip([bare], { tokens: 1, swigluUpOffset: 11008 }, {}, h100);
    if (swiglu.kernel !== 'onchip') throw new Error(swiglu.reason);
    expect(swiglu.prepare?.constants).toEqual({ workgroupSize: 256, hasPerm: false, hasNorm: false, swigluInput: true, normalizeInput: false });
    expect(swiglu.prepare?.params.xStride).toBe(22016);
    const normalized = planVqGemvOnChip([bare], { tokens: 2, normalizeInput: { epsilon: 1e-5 } }, {}, h100);
    if (normalized.kernel !== 'onchip') throw new Error(normalized.reason);
    expect([normalized.constants.normalizeInput, normalized.params.epsilon, normalized.params.betaBlocks]).toEqual([true, 1e-5, 43]);
    expect(normalized.prepare?.betaByteLength).toBe(2 * 2 * 43 * 4);
  });

  it('rejects an unroll that needs more than 8 index words', () => {
    expect(() => planVqGemvOnChip([placement(64, 4096, 6, 4096)], { tokens: 1 }, { unroll: 3 }, h100)).toThrow(/options.unroll must be an integer with unroll × 3 index words ≤ 8 \(got 3\)/);
  });
});
