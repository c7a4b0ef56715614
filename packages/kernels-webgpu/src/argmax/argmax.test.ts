import { randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { argmax } from './argmax';
import { argmaxCpu } from './argmax-cpu';

const device = await requestTestDevice();

describe('argmaxCpu', () => {
  it('breaks ties toward the lowest index and maps all -Infinity to 0', () => {
    expect([...argmaxCpu(new Float32Array([1, 5, 5, -Infinity, -Infinity, -Infinity]), { rows: 2, cols: 3 })]).toEqual([1, 0]);
  });
});

describe.skipIf(!device)('argmax', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('agrees with the CPU twin on random rows', async () => {
    const shape = { rows: 4, cols: 32000 };
    const logits = randomFloats(shape.rows * shape.cols, 9, 10);
    expect([...(await argmax(gpu, logits, shape))]).toEqual([...argmaxCpu(logits, shape)]);
  });

  it('picks the lowest index among equal maxima spread over invocations', async () => {
    const logits = new Float32Array(5000).fill(-1);
    for (const index of [4999, 777, 1234, 300]) logits[index] = 2;
    logits.fill(-Infinity, 2500, 5000);
    const withInfinity = new Float32Array(10).fill(-Infinity);
    expect([...(await argmax(gpu, logits, { rows: 1, cols: 5000 }))]).toEqual([300]);
    expect([...(await argmax(gpu, withInfinity, { rows: 1, cols: 10 }))]).toEqual([0]);
  });
});
