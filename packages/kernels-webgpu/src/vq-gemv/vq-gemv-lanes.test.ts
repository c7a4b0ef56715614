import { getVptqLayerLayout } from '@vptq/pack-format';
import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { runKernel } from '../run-kernel';
import { createSyntheticVqLayer } from '../bench/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../bench/create-synthetic-vq-layer';
import { bufferUsage } from '../gpu-flags';
import { toLaneIndexLayout } from '../vq-layer/lane-index-layout';
import { uploadVqLayers } from '../vq-layer/upload-vq-layer';
import { planVqGemvLanes } from './plan-vq-gemv-lanes';
import { createVqGemvDispatch, placeVqGemvLayer, vqGemv } from './vq-gemv';
import type { VqGemvOptions } from './vq-gemv';
import { vqGemvCpu } from './vq-gemv-cpu';
import { vqGemvLanesWgsl } from './vq-gemv-lanes.wgsl';
import type { VqGemvDeviceLimits } from './plan-vq-gemv';

describe('toLaneIndexLayout', () => {
  it('puts word w of row r of group g at ((g · tiles + r / 32) · rowWords + w) · 32 + r mod 32, padding rows with 0', () => {
    const groups = 2;
    const rows = 37;
    const rowWords = 5;
    // Every stored word names its own (group, row, word).
    const stored = new Uint32Array(groups * rows * rowWords);
    for (let g = 0; g < groups; g++) for (let r = 0; r < rows; r++) for (let w = 0; w < rowWords; w++) stored[(g * rows + r) * rowWords + w] = 1 + g * 1_000_000 + r * 1000 + w;
    const lanes = toLaneIndexLayout(stored, groups, rows, rowWords);
    expect(lanes.length).toBe(groups * 2 * rowWords * 32);
    for (let i = 0; i < lanes.length; i++) {
      const lane = i % 32;
      const w = Math.floor(i / 32) % rowWords;
      const tile = Math.floor(i / 32 / rowWords) % 2;
      const g = Math.floor(i / 32 / rowWords / 2);
      const r = tile * 32 + lane;
      expect(lanes[i]).toBe(r < rows ? 1 + g * 1_000_000 + r * 1000 + w : 0);
    }
    expect(() => toLaneIndexLayout(stored.subarray(1), groups, rows, rowWords)).toThrow(/must hold groups × rows × rowWords = 370 words \(got 369\)/);
  });
});

describe('planVqGemvLanes', () => {
  const limits: VqGemvDeviceLimits = {
    limits: { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152, maxComputeWorkgroupsPerDimension: 65535 },
    subgroups: true,
  };
  // A layer of one group without outliers, f16 codebooks padded to 8 elements, norm and perm: only its layout is read.
  const place = (outFeatures: number, inFeatures: number, numResidualCentroids = 0) => {
    const layout = getVptqLayerLayout({
      inFeatures,
      outFeatures,
      vectorLength: 8,
      numCentroids: 256,
      numResidualCentroids,
      outlierVectorLength: 0,
      numOutlierCentroids: 0,
      groupNum: 1,
      groupSize: inFeatures,
      outlierSize: 0,
      enableNorm: true,
      enablePerm: true,
      indicesAsFloat: false,
      bias: false,
    });
    return { layout, centroidFormat: 1, centroidStride: 8, residualFormat: 1, residualStride: 8, outlierFormat: 1, outlierStride: 8, outlierRowWords: 0, words: { indices: 0, centroids: 0, residualCentroids: 1024, norm: 0, perm: 0 } };
  };

  it('aims at about 1024 workgroups with at least 32 fields a lane at LLaMA-2-7B shapes', () => {
    const shapes: [number, number, number, number, number][] = [
      // out, in → row tiles, column tiles, fieldsPerLane
      [4096, 11008, 16, 43, 32],
      [11008, 4096, 43, 16, 32],
      [4096, 4096, 16, 16, 32],
    ];
    for (const [outFeatures, inFeatures, rowTiles, columnTiles, fieldsPerLane] of shapes) {
      const plan = planVqGemvLanes([place(outFeatures, inFeatures, 256)], { tokens: 1 }, {}, limits);
      expect(plan.workgroups).toEqual([rowTiles, columnTiles, 1]);
      expect(plan.constants.fieldsPerLane).toBe(fieldsPerLane);
      expect(plan.reduce?.params.slots).toBe(columnTiles);
    }
    // A small matrix takes whole rows in one workgroup: no reduction, direct output.
    const small = planVqGemvLanes([place(64, 256)], { tokens: 1 }, {}, limits);
    expect(small.constants.fieldsPerLane).toBe(32);
    expect(small.workgroups).toEqual([1, 1, 1]);
    expect(small.constants.directOutput).toBe(true);
    expect(small.reduce).toBeUndefined();
  });

  it('names what does not fit', () => {
    const layer = place(64, 256);
    expect(() => planVqGemvLanes([layer], { tokens: 1 }, { fieldsPerLane: 12 }, limits)).toThrow(/options.fieldsPerLane must be a positive multiple of 8 \(got 12\)/);
    expect(() => planVqGemvLanes([layer], { tokens: 1 }, { workgroupSize: 16 }, limits)).toThrow(/power of two between 32 and 1024 \(got 16\)/);
    expect(() => planVqGemvLanes([layer, layer, layer, layer, layer], { tokens: 1 }, {}, limits)).toThrow(/takes 1 to 4 layers \(got 5\)/);
    expect(() => planVqGemvLanes([layer], { tokens: 1, normalizeInput: { epsilon: -1 } }, {}, limits)).toThrow(/epsilon must be a finite number ≥ 0 \(got -1\)/);
    expect(() => planVqGemvLanes([layer], { tokens: 1, normalizeInput: { epsilon: 1e-5 }, swigluUpOffset: 256 }, {}, limits)).toThrow(/exclude each other/);
    expect(() => planVqGemvLanes([layer], { tokens: 1, xStride: 255 }, {}, limits)).toThrow(/shape.xStride must be an integer ≥ 256 \(got 255\)/);
    expect(() => planVqGemvLanes([layer], { tokens: 1 }, { fieldsPerLane: 4096 }, limits)).toThrow(/needs \d+ bytes of workgroup memory/);
    expect(() => planVqGemvLanes([layer], { tokens: 9 }, {}, limits)).toThrow(/shape.tokens must be an integer between 1 and 8 \(got 9\)/);
  });
});

const device = await requestTestDevice();

const everything: SyntheticVqLayerOptions = {
  outFeatures: 8 * 70 - 3,
  inFeatures: 2 * 301,
  vectorLength: 8,
  numCentroids: 256,
  numResidualCentroids: 16,
  groupNum: 2,
  bias: true,
  seed: 71,
};

describe.skipIf(!device)('the lanes VQ-GEMV', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'vq-gemv/lanes', vqGemvLanesWgsl)).resolves.toBeDefined();
  });

  const cases: [string, SyntheticVqLayerOptions, number, VqGemvOptions][] = [
    ['G = 2, 12-bit fields (k256 + r16), norm, perm, bias, f16, 70 vector-rows (3 tiles, the last partial), 1 token', everything, 1, {}],
    ['the same in bf16 at 3 tokens, 8 fields a lane, 64 invocations (many column tiles and a reduction)', { ...everything, dtype: 'BF16', seed: 72 }, 3, { fieldsPerLane: 8, workgroupSize: 64 }],
    ['v8-k65536 (16-bit fields), one column tile (direct write)', { outFeatures: 8 * 40, inFeatures: 512, vectorLength: 8, numCentroids: 65536, seed: 73 }, 1, { fieldsPerLane: 64 }],
    ['f32 codebooks, odd v = 5, no norm or perm, 2 tokens', { outFeatures: 23, inFeatures: 96, vectorLength: 5, numCentroids: 32, dtype: 'F32', enableNorm: false, enablePerm: false, seed: 74 }, 2, {}],
    ['32-bit fields (k65536 + 65536 residual), v2', { outFeatures: 90, inFeatures: 64, vectorLength: 2, numCentroids: 65536, numResidualCentroids: 65536, seed: 75 }, 1, {}],
    ['v6-k4096 (12-bit fields straddling words) with 8 tokens', { outFeatures: 6 * 33, inFeatures: 256, vectorLength: 6, numCentroids: 4096, seed: 76 }, 8, {}],
    ['13-bit fields read one at a time (k8192), bf16 v4, a row not a multiple of 8', { outFeatures: 20, inFeatures: 300, vectorLength: 4, numCentroids: 8192, dtype: 'BF16', seed: 77 }, 2, { fieldsPerLane: 16 }],
    ['v = 16 (four quads)', { outFeatures: 16 * 35, inFeatures: 64, vectorLength: 16, numCentroids: 16, seed: 78 }, 2, {}],
    ['f32 v12 with a residual (3 quads, a 16-byte block each)', { outFeatures: 30, inFeatures: 200, vectorLength: 12, numCentroids: 64, numResidualCentroids: 4, dtype: 'F32', seed: 79 }, 1, {}],
    ['v8-k256-r256 as planned, 2048 columns, 65 vector-rows', { outFeatures: 8 * 65, inFeatures: 2048, vectorLength: 8, numCentroids: 256, numResidualCentroids: 256, seed: 80 }, 1, {}],
  ];

  for (const [name, layerOptions, tokens, options] of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(layerOptions);
      const x = randomFloats(tokens * config.inFeatures, 200 + tokens);
      const onGpu = await vqGemv(gpu, config, tensors, x, tokens, { kernel: 'lanes', ...options });
      const onCpu = vqGemvCpu(config, tensors, x, tokens);
      // f32 accumulation over ≤ 2048 products of magnitude ≤ ~4 against f64.
      expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-4);
    });
  }

  it('gives the same bytes on every run (fixed-order sums, no atomics)', async () => {
    const { config, tensors } = createSyntheticVqLayer({ ...everything, seed: 81 });
    const x = randomFloats(2 * config.inFeatures, 82);
    const first = await vqGemv(gpu, config, tensors, x, 2, { kernel: 'lanes', fieldsPerLane: 8 });
    const second = await vqGemv(gpu, config, tensors, x, 2, { kernel: 'lanes', fieldsPerLane: 8 });
    expect(Buffer.from(second.buffer).equals(Buffer.from(first.buffer))).toBe(true);
  });

  it('writes into strided x and y', async () => {
    const { config, tensors } = createSyntheticVqLayer({ outFeatures: 40, inFeatures: 64, vectorLength: 8, numCentroids: 256, seed: 83 });
    const [layer] = uploadVqLayers(gpu, [{ config, tensors }], { indexLayout: 'lanes' });
    try {
      const tokens = 2;
      const xStride = 70;
      const yStride = 45;
      const x = randomFloats(tokens * xStride, 84);
      const dense = new Float32Array(tokens * 64);
      for (let t = 0; t < tokens; t++) dense.set(x.subarray(t * xStride, t * xStride + 64), t * 64);
      const [bytes] = await runKernel(gpu, 'vq-gemv-lanes-strided', [x], [tokens * yStride * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layer, { x: xBuffer, y: yBuffer }, { tokens, xStride, yStride }),
      );
      const y = new Float32Array(bytes);
      const expected = vqGemvCpu(config, tensors, dense, tokens);
      for (let t = 0; t < tokens; t++) {
        expect(maxAbsDifference(y.subarray(t * yStride, t * yStride + 40), expected.subarray(t * 40, (t + 1) * 40))).toBeLessThan(2e-4);
      }
    } finally {
      layer.destroy();
    }
  });

  it('runs layers uploaded together as one dispatch, outputs side by side ([q | k | v]), with and without column tiles', async () => {
    const shared = { ...everything, inFeatures: 2 * 150 };
    const sources = [
      createSyntheticVqLayer({ ...shared, outFeatures: 8 * 40 - 3, seed: 90 }),
      createSyntheticVqLayer({ ...shared, outFeatures: 16, seed: 91 }),
      createSyntheticVqLayer({ ...shared, outFeatures: 8 * 33, seed: 92 }),
    ];
    const layers = uploadVqLayers(gpu, sources, { indexLayout: 'lanes' });
    try {
      const tokens = 2;
      const x = randomFloats(tokens * shared.inFeatures, 93);
      const total = sources.reduce((sum, { config }) => sum + config.outFeatures, 0);
      const expected = new Float32Array(tokens * total);
      let start = 0;
      for (const { config, tensors } of sources) {
        const part = vqGemvCpu(config, tensors, x, tokens);
        for (let t = 0; t < tokens; t++) expected.set(part.subarray(t * config.outFeatures, (t + 1) * config.outFeatures), t * total + start);
        start += config.outFeatures;
      }
      for (const fieldsPerLane of [8, 32]) {
        const [bytes] = await runKernel(gpu, 'vq-gemv-lanes-stack', [x], [tokens * total * 4], ([xBuffer], [yBuffer]) =>
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens }, { fieldsPerLane }),
        );
        expect(maxAbsDifference(new Float32Array(bytes), expected)).toBeLessThan(2e-4);
      }
    } finally {
      layers[0].destroy();
    }
  });

  it('reads silu(gate) · up from [gate | up] (SwiGLU folded into the down projection)', async () => {
    const { config, tensors } = createSyntheticVqLayer({ ...everything, seed: 94 });
    const tokens = 2;
    const inFeatures = config.inFeatures;
    const upOffset = inFeatures + 3;
    const gateUp = randomFloats(tokens * (upOffset + inFeatures), 95);
    const activated = new Float32Array(tokens * inFeatures);
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < inFeatures; c++) {
        const g = gateUp[t * (upOffset + inFeatures) + c];
        activated[t * inFeatures + c] = (g / (1 + Math.exp(-g))) * gateUp[t * (upOffset + inFeatures) + upOffset + c];
      }
    }
    const [layer] = uploadVqLayers(gpu, [{ config, tensors }], { indexLayout: 'lanes' });
    try {
      const [bytes] = await runKernel(gpu, 'vq-gemv-lanes-swiglu', [gateUp], [tokens * config.outFeatures * 4], ([xBuffer], [yBuffer]) =>
        createVqGemvDispatch(gpu, layer, { x: xBuffer, y: yBuffer }, { tokens, swigluUpOffset: upOffset }, { fieldsPerLane: 8 }),
      );
      expect(maxAbsDifference(new Float32Array(bytes), vqGemvCpu(config, tensors, activated, tokens))).toBeLessThan(2e-4);
    } finally {
      layer.destroy();
    }
  });

  it('applies RMSNorm (without gain) to its input, in one column tile and across several', async () => {
    const shared = { outFeatures: 6 * 40, inFeatures: 320, vectorLength: 6, numCentroids: 4096, bias: true };
    const sources = [createSyntheticVqLayer({ ...shared, seed: 96 }), createSyntheticVqLayer({ ...shared, outFeatures: 12, seed: 97 })];
    const layers = uploadVqLayers(gpu, sources, { indexLayout: 'lanes' });
    try {
      const tokens = 2;
      const epsilon = 1e-5;
      const x = randomFloats(tokens * 320, 98);
      const normalized = new Float32Array(x.length);
      for (let t = 0; t < tokens; t++) {
        const row = x.subarray(t * 320, (t + 1) * 320);
        const scale = 1 / Math.sqrt(row.reduce((sum, value) => sum + value * value, 0) / 320 + epsilon);
        row.forEach((value, c) => (normalized[t * 320 + c] = value * scale));
      }
      const first = vqGemvCpu(sources[0].config, sources[0].tensors, normalized, tokens);
      const second = vqGemvCpu(sources[1].config, sources[1].tensors, normalized, tokens);
      const expected = new Float32Array(tokens * 252);
      for (let t = 0; t < tokens; t++) {
        expected.set(first.subarray(t * 240, (t + 1) * 240), t * 252);
        expected.set(second.subarray(t * 12, (t + 1) * 12), t * 252 + 240);
      }
      // 48 fields a lane cover the 320 columns in one tile; 8 take five tiles and a reduction.
      for (const fieldsPerLane of [48, 8]) {
        const [bytes] = await runKernel(gpu, 'vq-gemv-lanes-normalized', [x], [tokens * 252 * 4], ([xBuffer], [yBuffer]) =>
          createVqGemvDispatch(gpu, layers, { x: xBuffer, y: yBuffer }, { tokens, normalizeInput: { epsilon } }, { fieldsPerLane }),
        );
        expect(maxAbsDifference(new Float32Array(bytes), expected)).toBeLessThan(2e-4);
      }
    } finally {
      layers[0].destroy();
    }
  });

  it('keeps each index layout to the kernels that read it', async () => {
    const source = createSyntheticVqLayer({ outFeatures: 16, inFeatures: 64, vectorLength: 8, numCentroids: 256, seed: 85 });
    const [lanes] = uploadVqLayers(gpu, [source], { indexLayout: 'lanes' });
    const [rows] = uploadVqLayers(gpu, [source]);
    const withOutliers = uploadVqLayers(gpu, [createSyntheticVqLayer({ outFeatures: 16, inFeatures: 69, vectorLength: 8, numCentroids: 256, outlierSize: 5, seed: 86 })], { indexLayout: 'lanes' })[0];
    const x = gpu.createBuffer({ size: 4096, usage: bufferUsage.storage });
    try {
      expect(lanes.indexLayout).toBe('lanes');
      expect(rows.indexLayout).toBe('rows');
      expect(placeVqGemvLayer(lanes).layout).toEqual(placeVqGemvLayer(rows).layout);
      await expect(createVqGemvDispatch(gpu, lanes, { x, y: x }, { tokens: 1 }, { kernel: 'streaming' })).rejects.toThrow(/uploaded with indexLayout lanes, which only options.kernel lanes \(or auto\) reads \(got streaming\)/);
      await expect(createVqGemvDispatch(gpu, rows, { x, y: x }, { tokens: 1 }, { kernel: 'lanes' })).rejects.toThrow(/needs layers uploaded with indexLayout: 'lanes'/);
      await expect(createVqGemvDispatch(gpu, withOutliers, { x, y: x }, { tokens: 1 })).rejects.toThrow(/no outlier part \(the layer has 5 outlier columns\)/);
      expect(() => uploadVqLayers(gpu, [source], { indexLayout: 'columns' as 'rows' })).toThrow(/options.indexLayout must be rows or lanes \(got columns\)/);
    } finally {
      for (const layer of [lanes, rows, withOutliers]) layer.destroy();
      x.destroy();
    }
  });
});
