import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createSyntheticSource } from '../test/synthetic-model';
import { createSyntheticGpuWeights } from './synthetic-gpu-weights';

const device = await requestTestDevice();

describe.skipIf(!device)('createSyntheticGpuWeights', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('refuses a config whose projections have biases, which synthetic weights would silently leave out', async () => {
    const { config } = createSyntheticSource({ attentionBias: true });
    await expect(createSyntheticGpuWeights(gpu, config, { linears: { kind: 'dense', format: 'f32' } })).rejects.toThrow(
      /synthetic weights have no biases, but the config gives model\.layers\.0\.self_attn\.q_proj one/,
    );
  });
});
