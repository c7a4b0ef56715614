import { randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { add } from './add';
import { addCpu } from './add-cpu';

const device = await requestTestDevice();

describe('addCpu', () => {
  it('adds element-wise without modifying its inputs', () => {
    const accumulator = new Float32Array([1, 2]);
    expect([...addCpu(accumulator, new Float32Array([3, -5]))]).toEqual([4, -3]);
    expect([...accumulator]).toEqual([1, 2]);
  });
});

describe.skipIf(!device)('add', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('matches the CPU twin exactly (one f32 rounding each)', async () => {
    const accumulator = randomFloats(1537, 1);
    const addend = randomFloats(1537, 2);
    expect([...(await add(gpu, accumulator, addend))]).toEqual([...addCpu(accumulator, addend)]);
  });

  it('rejects different lengths', async () => {
    await expect(add(gpu, new Float32Array(4), new Float32Array(5))).rejects.toThrow(/same length \(got 4 and 5\)/);
  });
});
