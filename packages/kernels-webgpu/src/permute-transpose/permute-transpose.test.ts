import { toWorkingLayout } from '@vptq/codebook/engine';
import { randomPermutation } from '@vptq/kmeans';

import { createTestRng, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { submitDispatches } from '../dispatch';
import { createPermuteTransposeDispatch } from './permute-transpose';

const device = await requestTestDevice();

describe.skipIf(!device)('createPermuteTransposeDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it.each([
    [1, 1],
    [7, 300],
    [300, 7],
    [128, 96],
    [1000, 513],
  ])('lays out a %i × %i weight as toWorkingLayout does (no norm, no dead column), bit for bit', async (rows, cols) => {
    const data = randomFloats(rows * cols, rows * 7 + cols);
    data[0] = -0;
    const perm = randomPermutation(cols, createTestRng(rows + cols));
    const buffers = [createBufferWithData(gpu, 'weight', data), createBufferWithData(gpu, 'perm', perm), createStorageBuffer(gpu, 'out', rows * cols * 4)];
    const [weight, permBuffer, out] = buffers;
    const dispatch = await createPermuteTransposeDispatch(gpu, { weight, perm: permBuffer, out }, { rows, cols });
    try {
      submitDispatches(gpu, 'test', [dispatch]);
      const got = new Uint32Array(await readBuffer(gpu, out, rows * cols * 4));
      const expected = toWorkingLayout({ data, rows, cols }, perm, new Uint8Array(cols), undefined);
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    } finally {
      dispatch.destroy();
      for (const buffer of buffers) buffer.destroy();
    }
  });

  it('rejects sizes that are not positive integers', async () => {
    const buffer = createStorageBuffer(gpu, 'any', 16);
    try {
      await expect(createPermuteTransposeDispatch(gpu, { weight: buffer, perm: buffer, out: buffer }, { rows: 0, cols: 4 })).rejects.toThrow(/shape\.rows/);
    } finally {
      buffer.destroy();
    }
  });
});
