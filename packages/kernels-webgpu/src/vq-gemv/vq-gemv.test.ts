import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { createSyntheticVqLayer } from '../vq-layer/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../vq-layer/create-synthetic-vq-layer';
import { planVqGemvPart, vqGemv } from './vq-gemv';
import type { VqGemvOptions } from './vq-gemv';
import { vqGemvCpu } from './vq-gemv-cpu';
import { vqGemvPrepareWgsl, vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';

const device = await requestTestDevice();

const everything: SyntheticVqLayerOptions = {
  outFeatures: 37,
  inFeatures: 5 + 2 * 301,
  vectorLength: 8,
  centroids: 256,
  residualCentroids: 16,
  groups: 2,
  outlierSize: 5,
  outlierVectorLength: 3,
  outlierCentroids: 64,
  bias: true,
  seed: 17,
};

describe('planVqGemvPart', () => {
  it('splits columns for about the target number of workgroups, keeping 4 fields per invocation', () => {
    expect(planVqGemvPart({ rows: 512, groups: 1, fieldsPerRow: 11008 }, { workgroupSize: 64, targetWorkgroups: 2048 })).toEqual({ fieldsPerSplit: 2752, splits: 4 });
    expect(planVqGemvPart({ rows: 4, groups: 1, fieldsPerRow: 300 }, { workgroupSize: 64 })).toEqual({ fieldsPerSplit: 300, splits: 1 });
    expect(planVqGemvPart({ rows: 4, groups: 1, fieldsPerRow: 300 }, { splits: 7 }).splits).toBe(7);
  });
});

describe.skipIf(!device)('vqGemv', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles every step', async () => {
    await expect(compileShader(gpu, 'vq-gemv/prepare', vqGemvPrepareWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vq-gemv', vqGemvWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vq-gemv/reduce', vqGemvReduceWgsl)).resolves.toBeDefined();
    if (gpu.features.has('subgroups')) await expect(compileShader(gpu, 'vq-gemv/subgroups', vqGemvSubgroupsWgsl)).resolves.toBeDefined();
  });

  const cases: [string, SyntheticVqLayerOptions, number, VqGemvOptions][] = [
    ['all features (12-bit straddling fields, G = 2, residual, outliers vo = 3, norm, perm, bias), f16, 1 token', everything, 1, {}],
    ['all features, bf16 codebooks, 3 tokens, shared-memory reduction, 4 splits', { ...everything, dtype: 'BF16', seed: 18 }, 3, { useSubgroups: false, splits: 4, workgroupSize: 16 }],
    ['v8-k65536 (16-bit fields), one workgroup per output (direct write)', { outFeatures: 64, inFeatures: 512, vectorLength: 8, centroids: 65536, seed: 19 }, 1, { splits: 1 }],
    ['f32 codebooks, odd v = 5, no norm or perm, 2 tokens', { outFeatures: 23, inFeatures: 96, vectorLength: 5, centroids: 32, dtype: 'F32', norm: false, perm: false, seed: 20 }, 2, {}],
    ['32-bit fields (k65536 + 65536 residual)', { outFeatures: 6, inFeatures: 64, vectorLength: 2, centroids: 65536, residualCentroids: 65536, seed: 21 }, 1, {}],
    ['v6-k4096 with 8 tokens', { outFeatures: 48, inFeatures: 256, vectorLength: 6, centroids: 4096, seed: 22 }, 8, {}],
  ];

  for (const [name, layerOptions, tokens, options] of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(layerOptions);
      const x = randomFloats(tokens * config.inFeatures, 100 + tokens);
      const onGpu = await vqGemv(gpu, config, tensors, x, tokens, options);
      const onCpu = vqGemvCpu(config, tensors, x, tokens);
      // f32 accumulation over ≤ 607 products of magnitude ≤ ~4 against f64.
      expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-4);
    });
  }

  it('handles v = 16 and rejects longer vectors', async () => {
    const long = createSyntheticVqLayer({ outFeatures: 40, inFeatures: 64, vectorLength: 16, centroids: 16, seed: 23 });
    const x = randomFloats(2 * 64, 24);
    expect(maxAbsDifference(await vqGemv(gpu, long.config, long.tensors, x, 2), vqGemvCpu(long.config, long.tensors, x, 2))).toBeLessThan(2e-4);
    const tooLong = createSyntheticVqLayer({ outFeatures: 64, inFeatures: 32, vectorLength: 32, centroids: 16, perm: false });
    await expect(vqGemv(gpu, tooLong.config, tooLong.tensors, new Float32Array(32))).rejects.toThrow(/vector length must be at most 16 \(got 32\)/);
  });
});
