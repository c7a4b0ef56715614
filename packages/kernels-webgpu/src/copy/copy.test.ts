import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { copyThroughShader } from './copy';

const device = await requestTestDevice();

describe.skipIf(!device)('copy', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('copies every byte', async () => {
    const next = createTestRng(3);
    const data = Uint8Array.from({ length: 16 * 1000 }, () => Math.floor(next() * 256));
    expect(await copyThroughShader(gpu, data)).toEqual(data);
  });

  it('rejects a length that is not a multiple of 16', async () => {
    await expect(copyThroughShader(gpu, new Uint8Array(20))).rejects.toThrow(/multiple of 16 \(got 20\)/);
  });
});
