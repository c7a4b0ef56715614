import { dequantizeVptqLayer } from '@vptq/pack-format';
import { f16ArrayToF32 } from '@vptq/pack-format/safetensors';
import { maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { createSyntheticVqLayer } from '../bench/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../bench/create-synthetic-vq-layer';
import { vqDequantize } from './vq-dequant';
import { vqDequantWgsl } from './vq-dequant.wgsl';

const device = await requestTestDevice();

/** Every format feature at once: straddling 12-bit fields, 2 groups, residual, outliers with vo ∤ v, norm, perm, padding rows. */
const everything: SyntheticVqLayerOptions = {
  outFeatures: 37,
  inFeatures: 5 + 2 * 41,
  vectorLength: 8,
  numCentroids: 256,
  numResidualCentroids: 16,
  groupNum: 2,
  outlierSize: 5,
  outlierVectorLength: 3,
  numOutlierCentroids: 64,
  bias: true,
  seed: 7,
};

const cases: [string, SyntheticVqLayerOptions][] = [
  ['all features, f16 codebooks', everything],
  ['all features, bf16 codebooks', { ...everything, dtype: 'BF16', seed: 8 }],
  ['f32 codebooks, no norm, no perm, odd v', { outFeatures: 20, inFeatures: 48, vectorLength: 5, numCentroids: 32, dtype: 'F32', enableNorm: false, enablePerm: false, seed: 9 }],
  ['32-bit fields (k65536 + 65536 residual)', { outFeatures: 6, inFeatures: 40, vectorLength: 2, numCentroids: 65536, numResidualCentroids: 65536, seed: 10 }],
];

describe.skipIf(!device)('vqDequantize', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'vq-dequant', vqDequantWgsl)).resolves.toBeDefined();
  });

  for (const [name, options] of cases) {
    it(`agrees with the reference dequantizeVptqLayer: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(options);
      const onGpu = await vqDequantize(gpu, config, tensors);
      // The same f32 sum of two centroids; the GPU's w·scale + bias may round twice: a few f32 ulps of values below ~3.
      expect(maxAbsDifference(onGpu, dequantizeVptqLayer({ config, tensors }))).toBeLessThan(1e-6);
    });
  }

  it('reads the lanes index layout to the same bytes (70 vector-rows: three tiles of 32, the last partial; 13-bit fields)', async () => {
    for (const options of [
      { ...everything, outFeatures: 8 * 70 - 3, seed: 11 },
      { outFeatures: 4 * 40, inFeatures: 3 * 19, vectorLength: 4, numCentroids: 8192, groupNum: 3, seed: 12 },
    ]) {
      const { config, tensors } = createSyntheticVqLayer(options);
      const rows = await vqDequantize(gpu, config, tensors);
      const lanes = await vqDequantize(gpu, config, tensors, { indexLayout: 'lanes' });
      expect(Buffer.from(lanes.buffer).equals(Buffer.from(rows.buffer))).toBe(true);
      expect(maxAbsDifference(lanes, dequantizeVptqLayer({ config, tensors }))).toBeLessThan(1e-6);
    }
  });

  it('writes f16 output within one f16 ulp', async () => {
    const { config, tensors } = createSyntheticVqLayer(everything);
    const onGpu = await vqDequantize(gpu, config, tensors, { format: 'f16' });
    expect(onGpu).toBeInstanceOf(Uint16Array);
    const reference = dequantizeVptqLayer({ config, tensors });
    // |w| < 4 here, where one f16 ulp is ≤ 2^-9; rounding may be either way on some backends.
    expect(maxAbsDifference(f16ArrayToF32(onGpu as Uint16Array), reference)).toBeLessThanOrEqual(2 ** -9);
  });

  it('rejects a tensor of the wrong length', async () => {
    const { config, tensors } = createSyntheticVqLayer(everything);
    await expect(vqDequantize(gpu, config, { ...tensors, indices: tensors.indices.subarray(1) })).rejects.toThrow(/indices must have \[G, R, P\]/);
  });
});
