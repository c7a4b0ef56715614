import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { createSyntheticVqLayer } from '../bench/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../bench/create-synthetic-vq-layer';
import { runKernel } from '../run-kernel';
import { uploadVqLayers } from '../vq-layer/upload-vq-layer';
import { createVqGemvDispatch, vqGemv } from './vq-gemv';
import type { VqGemvOptions } from './vq-gemv';
import { planVqGemvOnChip } from './plan-vq-gemv-onchip';
import { vqGemvCpu } from './vq-gemv-cpu';
import { vqGemvOnChipBlocksWgsl, vqGemvOnChipWordsWgsl, vqGemvPrepareXWgsl } from './vq-gemv-onchip.wgsl';

const device = await requestTestDevice();
const subgroups = device?.features.has('subgroups') ?? false;

describe.skipIf(!device || !subgroups)('vqGemv, on-chip kernel', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles every shader', async () => {
    await expect(compileShader(gpu, 'vq-gemv/onchip-blocks', vqGemvOnChipBlocksWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vq-gemv/onchip-words', vqGemvOnChipWordsWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vq-gemv/prepare-x', vqGemvPrepareXWgsl)).resolves.toBeDefined();
  });

  // Edge shapes: vector-rows that leave a partial last row (out not a multiple of v), in not a multiple of the
  // chunk or of the subgroup's sweep, residual on and off, perm/norm/bias on and off, f16/bf16/f32, several tokens,
  // column splits (partials + reduction), replicas from 1 to the most that fit, both table layouts.
  const cases: [string, SyntheticVqLayerOptions, number, VqGemvOptions][] = [
    ['v8-k256-r256 f16 with perm, norm, bias, 1 token', { outFeatures: 61, inFeatures: 515, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, bias: true, seed: 70 }, 1, {}],
    ['v8-k256-r256, 3 tokens, 4 column splits, 2 workgroups', { outFeatures: 40, inFeatures: 1030, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, seed: 71 }, 3, { splits: 4, persistentWorkgroups: 2 }],
    ['v8-k256-r256 without replicas', { outFeatures: 24, inFeatures: 300, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, seed: 72 }, 1, { maxReplicas: 1 }],
    ['v4-k256-r16 (12-bit fields, 8-byte entries in blocks), bf16, no perm or norm', { outFeatures: 50, inFeatures: 203, vectorLength: 4, numCentroids: 256, numResidualCentroids: 16, dtype: 'BF16', enablePerm: false, enableNorm: false, seed: 73 }, 2, {}],
    ['v6-k1024 (10-bit fields, 16 to a 5-word chunk), f16, perm only', { outFeatures: 30, inFeatures: 256, vectorLength: 6, numCentroids: 1024, enableNorm: false, seed: 74 }, 1, {}],
    ['f32 v5 k64, norm only, bias, workgroup size 64', { outFeatures: 23, inFeatures: 96, vectorLength: 5, numCentroids: 64, dtype: 'F32', enablePerm: false, bias: true, seed: 75 }, 2, { workgroupSize: 64 }],
    ['v16 f16 k32 + residual k4 (two blocks per entry), 8 tokens', { outFeatures: 40, inFeatures: 128, vectorLength: 16, numCentroids: 32, numResidualCentroids: 4, seed: 76 }, 8, {}],
    ['v2 f16 k256 (1-word entries)', { outFeatures: 9, inFeatures: 80, vectorLength: 2, numCentroids: 256, seed: 77 }, 1, { unroll: 2 }],
  ];

  for (const [name, layerOptions, tokens, options] of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(layerOptions);
      const x = randomFloats(tokens * config.inFeatures, 200 + tokens);
      const onGpu = await vqGemv(gpu, config, tensors, x, tokens, { kernel: 'onchip', ...options });
      expect(maxAbsDifference(onGpu, vqGemvCpu(config, tensors, x, tokens))).toBeLessThan(2e-4);
    });
  }

  it('uses the words layout for a v6 f16 codebook whose padded blocks do not fit, and agrees with the CPU twin', async () => {
    // 1024 entries × 16 padded bytes = 16 KiB; × 12 bytes = 12 KiB. A 14 KiB budget forces the words layout.
    const limit = Math.min(gpu.limits.maxComputeWorkgroupStorageSize, 14 * 1024);
    const { config, tensors } = createSyntheticVqLayer({ outFeatures: 36, inFeatures: 160, vectorLength: 6, numCentroids: 1024, bias: true, seed: 78 });
    const x = randomFloats(2 * 160, 79);
    const [layer] = uploadVqLayers(gpu, [{ config, tensors }]);
    try {
      const placement = {
        layout: layer.layout,
        centroidFormat: layer.centroidFormat,
        centroidStride: layer.centroidStride,
        residualFormat: layer.residualFormat,
        residualStride: layer.residualStride,
        outlierFormat: layer.outlierFormat,
        outlierStride: layer.outlierStride,
        outlierRowWords: layer.outlierRowWords,
        words: { indices: 0, centroids: 0, perm: 0, norm: 0, bias: 0 },
      };
      const plan = planVqGemvOnChip([placement], { tokens: 2 }, {}, { limits: { ...gpu.limits, maxComputeWorkgroupStorageSize: limit }, subgroups: true });
      expect(plan.kernel === 'onchip' && plan.layout).toBe('words');
      // The public path on a device whose workgroup memory is reported as that budget.
      const limited = new Proxy(gpu, {
        get(target, key) {
          if (key === 'limits') return { ...target.limits, maxComputeWorkgroupStorageSize: limit, maxComputeWorkgroupsPerDimension: target.limits.maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup: target.limits.maxComputeInvocationsPerWorkgroup };
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const [bytes] = await runKernel(gpu, 'vq-gemv-words', [x], [2 * 36 * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(limited, layer, { x: xBuffer, y: yBuffer }, { tokens: 2 }, { kernel: 'onchip' }),
      );
      expect(maxAbsDifference(new Float32Array(bytes), vqGemvCpu(config, tensors, x, 2))).toBeLessThan(2e-4);
    } finally {
      layer.destroy();
    }
  });

  it('runs a stack of layers (each its own codebooks, perm, norm, bias) as one dispatch', async () => {
    const shared = { inFeatures: 300, vectorLength: 8, numCentroids: 256, numResidualCentroids: 16, bias: true };
    const sources = [createSyntheticVqLayer({ ...shared, outFeatures: 37, seed: 80 }), createSyntheticVqLayer({ ...shared, outFeatures: 16, seed: 81 }), createSyntheticVqLayer({ ...shared, outFeatures: 21, seed: 82 })];
    const layers = uploadVqLayers(gpu, sources);
    try {
      const tokens = 2;
      const x = randomFloats(tokens * 300, 83);
      const total = 37 + 16 + 21;
      const [bytes] = await runKernel(gpu, 'vq-gemv-onchip-stack', [x], [tokens * total * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens }, { kernel: 'onchip', splits: 2 }),
      );
      const expected = new Float32Array(tokens * total);
      let start = 0;
      for (const { config, tensors } of sources) {
        const part = vqGemvCpu(config, tensors, x, tokens);
        for (let t = 0; t < tokens; t++) expected.set(part.subarray(t * config.outFeatures, (t + 1) * config.outFeatures), t * total + start);
        start += config.outFeatures;
      }
      expect(maxAbsDifference(new Float32Array(bytes), expected)).toBeLessThan(2e-4);
    } finally {
      layers[0].destroy();
    }
  });

  it('reads silu(gate) · up from [gate | up] (SwiGLU folded into the down projection), 2 splits', async () => {
    const { config, tensors } = createSyntheticVqLayer({ outFeatures: 45, inFeatures: 270, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, bias: true, seed: 86 });
    const tokens = 2;
    const inFeatures = config.inFeatures;
    const upOffset = inFeatures + 3;
    const gateUp = randomFloats(tokens * (upOffset + inFeatures), 87);
    const activated = new Float32Array(tokens * inFeatures);
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < inFeatures; c++) {
        const g = gateUp[t * (upOffset + inFeatures) + c];
        activated[t * inFeatures + c] = (g / (1 + Math.exp(-g))) * gateUp[t * (upOffset + inFeatures) + upOffset + c];
      }
    }
    const [layer] = uploadVqLayers(gpu, [{ config, tensors }]);
    try {
      const [bytes] = await runKernel(gpu, 'vq-gemv-onchip-swiglu', [gateUp], [tokens * config.outFeatures * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layer, { x: xBuffer, y: yBuffer }, { tokens, swigluUpOffset: upOffset }, { kernel: 'onchip', splits: 2 }),
      );
      expect(maxAbsDifference(new Float32Array(bytes), vqGemvCpu(config, tensors, activated, tokens))).toBeLessThan(2e-4);
    } finally {
      layer.destroy();
    }
  });

  for (const [name, layerOptions] of [
    ['v6-k1024 with perm, norm and bias', { vectorLength: 6, numCentroids: 1024, bias: true }],
    ['v4-k256-r16 without perm or norm', { vectorLength: 4, numCentroids: 256, numResidualCentroids: 16, enablePerm: false, enableNorm: false }],
  ] as const) {
    it(`applies RMSNorm (without gain) to its input over a stack, 3 splits: ${name}`, async () => {
      const shared = { inFeatures: 600, ...layerOptions };
      const sources = [createSyntheticVqLayer({ ...shared, outFeatures: 24, seed: 88 }), createSyntheticVqLayer({ ...shared, outFeatures: 12, seed: 89 })];
      const layers = uploadVqLayers(gpu, sources);
      try {
        const tokens = 2;
        const epsilon = 1e-5;
        const x = randomFloats(tokens * 600, 90);
        const normalized = new Float32Array(x.length);
        for (let t = 0; t < tokens; t++) {
          const row = x.subarray(t * 600, (t + 1) * 600);
          const scale = 1 / Math.sqrt(row.reduce((sum, value) => sum + value * value, 0) / 600 + epsilon);
          row.forEach((value, c) => (normalized[t * 600 + c] = value * scale));
        }
        const [bytes] = await runKernel(gpu, 'vq-gemv-onchip-normalized', [x], [tokens * 36 * 4], ([xBuffer], [yBuffer]) =>
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens, normalizeInput: { epsilon } }, { kernel: 'onchip', splits: 3 }),
        );
        const first = vqGemvCpu(sources[0].config, sources[0].tensors, normalized, tokens);
        const second = vqGemvCpu(sources[1].config, sources[1].tensors, normalized, tokens);
        const expected = new Float32Array(tokens * 36);
        for (let t = 0; t < tokens; t++) {
          expected.set(first.subarray(t * 24, (t + 1) * 24), t * 36);
          expected.set(second.subarray(t * 12, (t + 1) * 12), t * 36 + 24);
        }
        expect(maxAbsDifference(new Float32Array(bytes), expected)).toBeLessThan(2e-4);
      } finally {
        layers[0].destroy();
      }
    });
  }

  it("is taken by kernel 'auto' where it applies, and refuses when forced where it does not", async () => {
    const grouped = createSyntheticVqLayer({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256, groupNum: 2, seed: 84 });
    await expect(vqGemv(gpu, grouped.config, grouped.tensors, new Float32Array(64), 1, { kernel: 'onchip' })).rejects.toThrow(/options.kernel is onchip but the on-chip kernel takes one group \(got G 2\)/);
    // auto falls back to the streaming kernel and still computes the right thing.
    const x = randomFloats(64, 85);
    expect(maxAbsDifference(await vqGemv(gpu, grouped.config, grouped.tensors, x, 1, { kernel: 'auto' }), vqGemvCpu(grouped.config, grouped.tensors, x))).toBeLessThan(2e-4);
  });
});
