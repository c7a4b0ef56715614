import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { runKernel } from '../run-kernel';
import { createSyntheticVqLayer } from '../vq-layer/create-synthetic-vq-layer';
import type { SyntheticVqLayerOptions } from '../vq-layer/create-synthetic-vq-layer';
import { vqGemvCpu } from '../vq-gemv/vq-gemv-cpu';
import { createSortedVqGemvDispatch } from './sorted-vq-gemv';
import type { SortedVqGemvOptions } from './sorted-vq-gemv';
import { uploadSortedVqLayer } from './upload-sorted-vq-layer';

const device = await requestTestDevice();
const hasSubgroups = device?.features.has('subgroups') === true;

describe.skipIf(!device || !hasSubgroups)('sorted-layout VQ-GEMV', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  const cases: [string, SyntheticVqLayerOptions, number, SortedVqGemvOptions][] = [
    ['v6-k4096 f16 with norm, perm and bias, 2 tokens', { outFeatures: 45, inFeatures: 300, vectorLength: 6, centroids: 4096, bias: true, seed: 40 }, 2, {}],
    ['v8-k65536 f16, 3 rows per workgroup of 64, unroll 2', { outFeatures: 40, inFeatures: 512, vectorLength: 8, centroids: 65536, seed: 41 }, 1, { rowsPerWorkgroup: 3, workgroupSize: 64, unroll: 2 }],
    ['f32 v5 without norm or perm', { outFeatures: 23, inFeatures: 96, vectorLength: 5, centroids: 32, dtype: 'F32', norm: false, perm: false, seed: 42 }, 1, {}],
    ['bf16 v4, k256', { outFeatures: 16, inFeatures: 200, vectorLength: 4, centroids: 256, dtype: 'BF16', seed: 43 }, 3, {}],
  ];
  for (const [name, layerOptions, tokens, options] of cases) {
    it(`computes what the packed layer computes: ${name}`, async () => {
      const { config, tensors } = createSyntheticVqLayer(layerOptions);
      const layer = uploadSortedVqLayer(gpu, config, tensors);
      try {
        const x = randomFloats(tokens * config.inFeatures, 44);
        const [bytes] = await runKernel(gpu, 'sorted', [x], [tokens * config.outFeatures * 4], ([xBuffer], [yBuffer]) =>
          createSortedVqGemvDispatch(gpu, layer, { x: xBuffer, y: yBuffer }, { tokens }, options),
        );
        expect(maxAbsDifference(new Float32Array(bytes), vqGemvCpu(config, tensors, x, tokens))).toBeLessThan(2e-4);
      } finally {
        layer.destroy();
      }
    });
  }

  it('rejects layers the layout does not cover', () => {
    const grouped = createSyntheticVqLayer({ outFeatures: 8, inFeatures: 64, vectorLength: 4, centroids: 16, groups: 2 });
    expect(() => uploadSortedVqLayer(gpu, grouped.config, grouped.tensors)).toThrow(/without residual codebook, outliers or groups/);
  });
});
