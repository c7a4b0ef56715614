import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createSyntheticVqLayer } from '../bench/create-synthetic-vq-layer';
import { uploadVqLayer } from './upload-vq-layer';

const device = await requestTestDevice();

const options = { outFeatures: 16, inFeatures: 2 + 2 * 15, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groupNum: 2, outlierSize: 2, outlierVectorLength: 3, numOutlierCentroids: 8, bias: true };

describe('createSyntheticVqLayer', () => {
  it('is deterministic in its seed', () => {
    const first = createSyntheticVqLayer({ ...options, seed: 5 });
    expect(createSyntheticVqLayer({ ...options, seed: 5 })).toEqual(first);
    expect(createSyntheticVqLayer({ ...options, seed: 6 }).tensors.indices).not.toEqual(first.tensors.indices);
  });
});

describe.skipIf(!device)('uploadVqLayer', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);
  const { config, tensors } = createSyntheticVqLayer(options);

  it('keeps the packed layout and repacks outlier indices', () => {
    const layer = uploadVqLayer(gpu, { config, tensors });
    // ceil(O · log2 Ko / 32) = ceil(2 · 3 / 32) = 1 word per outlier row.
    expect(layer.outlierRowWords).toBe(1);
    expect([layer.centroidFormat, layer.residualFormat, layer.outlierFormat]).toEqual([1, 1, 1]);
    expect(layer.layout).toMatchObject({ vectorRows: 4, rowWords: 3, totalBits: 6 });
    expect(layer.byteLength).toBeGreaterThan(tensors.indices.byteLength);
    layer.destroy();
  });

  it('rejects a perm that is not a permutation', () => {
    const perm = Uint16Array.from(tensors.perm as Uint16Array);
    perm[3] = perm[4];
    expect(() => uploadVqLayer(gpu, { config, tensors: { ...tensors, perm } })).toThrow(/perm must be a permutation of 0\.\.31/);
  });

  it('rejects an outlier index outside its codebook', () => {
    const outlierIndices = Uint16Array.from(tensors.outlierIndices as Uint16Array);
    outlierIndices[0] = 8;
    expect(() => uploadVqLayer(gpu, { config, tensors: { ...tensors, outlierIndices } })).toThrow(/outlierIndices must be below Ko = 8 \(got 8 at 0\)/);
  });

  it('rejects a missing, unexpected or mistyped tensor', () => {
    expect(() => uploadVqLayer(gpu, { config, tensors: { ...tensors, bias: undefined } })).toThrow(/bias is required by the layer config/);
    expect(() => uploadVqLayer(gpu, { config: { ...config, bias: false }, tensors })).toThrow(/bias must be omitted/);
    expect(() => uploadVqLayer(gpu, { config, tensors: { ...tensors, centroids: { dtype: 'F32', data: new Uint16Array(128) } as never } })).toThrow(TypeError);
  });
});
