import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { createSyntheticVqLayer } from '../bench/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../bench/create-synthetic-vq-layer';
import { createVqGemvDispatch, vqGemv } from './vq-gemv';
import { bufferUsage } from '../gpu-flags';
import { DispatchSequence } from '../dispatch';
import { runKernel } from '../run-kernel';
import { uploadVqLayers } from '../vq-layer/upload-vq-layer';
import type { VqGemvOptions } from './vq-gemv';
import { vqGemvCpu } from './vq-gemv-cpu';
import { vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';

const device = await requestTestDevice();

const everything: SyntheticVqLayerOptions = {
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
  seed: 17,
};

describe.skipIf(!device)('vqGemv', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles every step', async () => {
    await expect(compileShader(gpu, 'vq-gemv', vqGemvWgsl)).resolves.toBeDefined();
    await expect(compileShader(gpu, 'vq-gemv/reduce', vqGemvReduceWgsl)).resolves.toBeDefined();
    if (gpu.features.has('subgroups')) await expect(compileShader(gpu, 'vq-gemv/subgroups', vqGemvSubgroupsWgsl)).resolves.toBeDefined();
  });

  const cases: [string, SyntheticVqLayerOptions, number, VqGemvOptions][] = [
    ['all features (12-bit straddling fields, G = 2, residual, outliers vo = 3, norm, perm, bias), f16, 1 token', everything, 1, {}],
    ['all features, bf16 codebooks, 3 tokens, shared-memory reduction, 4 splits', { ...everything, dtype: 'BF16', seed: 18 }, 3, { useSubgroups: false, splits: 4, workgroupSize: 16 }],
    ['v8-k65536 (16-bit fields), one workgroup per output (direct write)', { outFeatures: 64, inFeatures: 512, vectorLength: 8, numCentroids: 65536, seed: 19 }, 1, { splits: 1 }],
    ['f32 codebooks, odd v = 5, no norm or perm, 2 tokens', { outFeatures: 23, inFeatures: 96, vectorLength: 5, numCentroids: 32, dtype: 'F32', enableNorm: false, enablePerm: false, seed: 20 }, 2, {}],
    ['32-bit fields (k65536 + 65536 residual)', { outFeatures: 6, inFeatures: 64, vectorLength: 2, numCentroids: 65536, numResidualCentroids: 65536, seed: 21 }, 1, {}],
    ['v6-k4096 with 8 tokens', { outFeatures: 48, inFeatures: 256, vectorLength: 6, numCentroids: 4096, seed: 22 }, 8, {}],
    ['all features, two vector-rows per workgroup (odd row counts, f16)', { ...everything, seed: 60 }, 2, { rowsPerWorkgroup: 2 }],
    ['two vector-rows per workgroup, bf16, shared-memory reduction, 3 splits', { ...everything, dtype: 'BF16', seed: 61 }, 1, { rowsPerWorkgroup: 2, useSubgroups: false, splits: 3 }],
    ['two vector-rows per workgroup, 13-bit fields read one at a time', { outFeatures: 20, inFeatures: 300, vectorLength: 4, numCentroids: 8192, seed: 62 }, 1, { rowsPerWorkgroup: 2 }],
    ['13-bit fields read one at a time (k8192), bf16 v4, 3 splits', { outFeatures: 20, inFeatures: 300, vectorLength: 4, numCentroids: 8192, dtype: 'BF16', seed: 25 }, 2, { splits: 3 }],
    // The default plan of 8-bit fields with a residual: two rows per workgroup at unroll 2, and (2048 columns) 2 splits.
    ['v8-k256-r256 as planned: two rows at unroll 2, 2 column splits, odd row count', { outFeatures: 40, inFeatures: 2048, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, seed: 27 }, 1, {}],
    ['f32 v12 with a residual (3 quads, a 16-byte block each), unroll 1', { outFeatures: 30, inFeatures: 200, vectorLength: 12, numCentroids: 64, numResidualCentroids: 4, dtype: 'F32', seed: 26 }, 1, { unroll: 1 }],
  ];

  for (const [name, layerOptions, tokens, options] of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(layerOptions);
      const x = randomFloats(tokens * config.inFeatures, 100 + tokens);
      // The streaming kernel on every case; vq-gemv-onchip.test.ts covers the on-chip kernel.
      const onGpu = await vqGemv(gpu, config, tensors, x, tokens, { kernel: 'streaming', ...options });
      const onCpu = vqGemvCpu(config, tensors, x, tokens);
      // f32 accumulation over ≤ 2048 products of magnitude ≤ ~4 against f64.
      expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-4);
    });
  }

  it('handles v = 16 and rejects longer vectors', async () => {
    const long = createSyntheticVqLayer({ outFeatures: 40, inFeatures: 64, vectorLength: 16, numCentroids: 16, seed: 23 });
    const x = randomFloats(2 * 64, 24);
    expect(maxAbsDifference(await vqGemv(gpu, long.config, long.tensors, x, 2), vqGemvCpu(long.config, long.tensors, x, 2))).toBeLessThan(2e-4);
    const tooLong = createSyntheticVqLayer({ outFeatures: 64, inFeatures: 32, vectorLength: 32, numCentroids: 16, enablePerm: false });
    await expect(vqGemv(gpu, tooLong.config, tooLong.tensors, new Float32Array(32))).rejects.toThrow(/vector length must be at most 16 \(got 32\)/);
  });

  it('runs layers uploaded together as one dispatch, outputs side by side ([q | k | v])', async () => {
    // GQA-like: k and v have fewer rows than q; G = 2, outliers, residual, norm, perm, bias on each.
    const shared = { ...everything, inFeatures: 5 + 2 * 150 };
    const sources = [
      createSyntheticVqLayer({ ...shared, outFeatures: 37, seed: 30 }),
      createSyntheticVqLayer({ ...shared, outFeatures: 16, seed: 31 }),
      createSyntheticVqLayer({ ...shared, outFeatures: 21, seed: 32 }),
    ];
    const layers = uploadVqLayers(gpu, sources);
    try {
      const tokens = 2;
      const x = randomFloats(tokens * shared.inFeatures, 33);
      const total = 37 + 16 + 21;
      const [bytes, pairedRows] = await runKernel(gpu, 'vq-gemv-stack', [x], [tokens * total * 4, tokens * total * 4], ([xBuffer], [yBuffer, zBuffer]) =>
        Promise.all([
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens }, { kernel: 'streaming', splits: 2 }),
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: zBuffer }, { tokens }, { kernel: 'streaming', rowsPerWorkgroup: 2 }),
        ]).then((dispatches) => new DispatchSequence('both', dispatches)),
      );
      const y = new Float32Array(bytes);
      const expected = new Float32Array(tokens * total);
      let start = 0;
      for (const { config, tensors } of sources) {
        const part = vqGemvCpu(config, tensors, x, tokens);
        for (let t = 0; t < tokens; t++) expected.set(part.subarray(t * config.outFeatures, (t + 1) * config.outFeatures), t * total + start);
        start += config.outFeatures;
      }
      expect(maxAbsDifference(y, expected)).toBeLessThan(2e-4);
      expect(maxAbsDifference(new Float32Array(pairedRows), expected)).toBeLessThan(2e-4);
      // Each layer still runs on its own from its range of the shared buffers.
      const [alone] = await runKernel(gpu, 'vq-gemv-one', [x], [tokens * 16 * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layers[1], { x: xBuffer, y: yBuffer }, { tokens }),
      );
      expect(maxAbsDifference(new Float32Array(alone), vqGemvCpu(sources[1].config, sources[1].tensors, x, tokens))).toBeLessThan(2e-4);
    } finally {
      layers[0].destroy();
    }
  });

  it('reads silu(gate) · up from [gate | up] (SwiGLU folded into the down projection)', async () => {
    const { config, tensors } = createSyntheticVqLayer({ ...everything, seed: 36 });
    const tokens = 2;
    const inFeatures = config.inFeatures;
    const upOffset = inFeatures + 3;
    const gateUp = randomFloats(tokens * (upOffset + inFeatures), 37);
    const activated = new Float32Array(tokens * inFeatures);
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < inFeatures; c++) {
        const g = gateUp[t * (upOffset + inFeatures) + c];
        activated[t * inFeatures + c] = (g / (1 + Math.exp(-g))) * gateUp[t * (upOffset + inFeatures) + upOffset + c];
      }
    }
    const [layer] = uploadVqLayers(gpu, [{ config, tensors }]);
    try {
      const [bytes] = await runKernel(gpu, 'vq-gemv-swiglu', [gateUp], [tokens * config.outFeatures * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layer, { x: xBuffer, y: yBuffer }, { tokens, swigluUpOffset: upOffset }),
      );
      expect(maxAbsDifference(new Float32Array(bytes), vqGemvCpu(config, tensors, activated, tokens))).toBeLessThan(2e-4);
    } finally {
      layer.destroy();
    }
  });

  for (const useSubgroups of [true, false]) {
    it(`applies RMSNorm (without gain) to its input, ${useSubgroups ? 'subgroup' : 'workgroup-memory'} reduction`, async () => {
      const shared = { outFeatures: 24, inFeatures: 320, vectorLength: 6, numCentroids: 4096, bias: true };
      const sources = [createSyntheticVqLayer({ ...shared, seed: 50 }), createSyntheticVqLayer({ ...shared, outFeatures: 12, seed: 51 })];
      const layers = uploadVqLayers(gpu, sources);
      try {
        const tokens = 2;
        const epsilon = 1e-5;
        const x = randomFloats(tokens * 320, 52);
        const normalized = new Float32Array(x.length);
        for (let t = 0; t < tokens; t++) {
          const row = x.subarray(t * 320, (t + 1) * 320);
          const scale = 1 / Math.sqrt(row.reduce((sum, value) => sum + value * value, 0) / 320 + epsilon);
          row.forEach((value, c) => (normalized[t * 320 + c] = value * scale));
        }
        const [bytes] = await runKernel(gpu, 'vq-gemv-normalized', [x], [tokens * 36 * 4], ([xBuffer], [yBuffer]) =>
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens, normalizeInput: { epsilon } }, { useSubgroups: useSubgroups && gpu.features.has('subgroups') }),
        );
        const y = new Float32Array(bytes);
        const first = vqGemvCpu(sources[0].config, sources[0].tensors, normalized, tokens);
        const second = vqGemvCpu(sources[1].config, sources[1].tensors, normalized, tokens);
        const expected = new Float32Array(tokens * 36);
        for (let t = 0; t < tokens; t++) {
          expected.set(first.subarray(t * 24, (t + 1) * 24), t * 36);
          expected.set(second.subarray(t * 12, (t + 1) * 12), t * 36 + 24);
        }
        expect(maxAbsDifference(y, expected)).toBeLessThan(2e-4);
      } finally {
        layers[0].destroy();
      }
    });
  }

  it('refuses to normalize where a workgroup does not see whole rows', async () => {
    const [grouped] = uploadVqLayers(gpu, [createSyntheticVqLayer({ ...everything, seed: 53 })]);
    const x = gpu.createBuffer({ size: 4096, usage: bufferUsage.storage });
    try {
      await expect(createVqGemvDispatch(gpu, grouped, { x, y: x }, { tokens: 1, normalizeInput: { epsilon: 1e-5 } })).rejects.toThrow(/one group and no outliers/);
    } finally {
      grouped.destroy();
      x.destroy();
    }
  });

  it('rejects layers that do not share buffers or layout', async () => {
    const one = createSyntheticVqLayer({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256, seed: 34 });
    const other = createSyntheticVqLayer({ outFeatures: 16, inFeatures: 64, vectorLength: 4, numCentroids: 256, seed: 35 });
    const apart = [uploadVqLayers(gpu, [one])[0], uploadVqLayers(gpu, [one])[0]];
    const mixed = uploadVqLayers(gpu, [one, other]);
    const x = gpu.createBuffer({ size: 256, usage: bufferUsage.storage });
    try {
      await expect(createVqGemvDispatch(gpu, apart, { x, y: x }, { tokens: 1 })).rejects.toThrow(/layer 1 does not share the indices buffer/);
      await expect(createVqGemvDispatch(gpu, mixed, { x, y: x }, { tokens: 1 })).rejects.toThrow(/layer 1 has vectorLength 4, layer 0 has 8/);
    } finally {
      for (const layer of [...apart, mixed[0]]) layer.destroy();
      x.destroy();
    }
  });
});
