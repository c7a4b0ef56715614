import { submitDispatches } from '@vptq/kernels-webgpu';
import { createBufferWithData, createStorageBuffer, readBuffer, bufferUsage } from '@vptq/kernels-webgpu/authoring';
import { randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createKvAppendDispatch } from './kv-append';

const device = await requestTestDevice();

describe.skipIf(!device)('createKvAppendDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('writes the window rows at the position held in the shared state uniform, leaving other rows alone', async () => {
    const tokens = 3;
    const width = 40;
    const capacity = 9;
    const keys = randomFloats(tokens * width, 1);
    const values = randomFloats(tokens * width, 2);
    const initial = randomFloats(capacity * width, 3);
    const uniform = (words: number[]): GPUBuffer => {
      const buffer = gpu.createBuffer({ label: 'kv-test', size: 16, usage: bufferUsage.uniform | bufferUsage.copyDst });
      gpu.queue.writeBuffer(buffer, 0, new Uint32Array([...words, 0, 0, 0, 0].slice(0, 4)));
      return buffer;
    };
    const buffers = {
      keys: createBufferWithData(gpu, 'keys', keys),
      values: createBufferWithData(gpu, 'values', values),
      keyCache: createBufferWithData(gpu, 'key-cache', initial),
      valueCache: createStorageBuffer(gpu, 'value-cache', capacity * width * 4),
      shape: uniform([tokens, width]),
      state: uniform([2]),
    };
    const dispatch = await createKvAppendDispatch(gpu, buffers, tokens, width);
    try {
      submitDispatches(gpu, 'kv-test', [dispatch]);
      gpu.queue.writeBuffer(buffers.state, 0, new Uint32Array([5, 0, 0, 0]));
      submitDispatches(gpu, 'kv-test', [dispatch]);
      const keyCache = new Float32Array(await readBuffer(gpu, buffers.keyCache, capacity * width * 4));
      const valueCache = new Float32Array(await readBuffer(gpu, buffers.valueCache, capacity * width * 4));
      const expectedKeys = initial.slice();
      expectedKeys.set(keys, 2 * width);
      expectedKeys.set(keys, 5 * width);
      const expectedValues = new Float32Array(capacity * width);
      expectedValues.set(values, 2 * width);
      expectedValues.set(values, 5 * width);
      expect(keyCache).toEqual(expectedKeys);
      expect(valueCache).toEqual(expectedValues);
    } finally {
      dispatch.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
    }
  });

  it('rejects an empty window', async () => {
    const placeholder = createStorageBuffer(gpu, 'placeholder', 16);
    const buffers = { keys: placeholder, values: placeholder, keyCache: placeholder, valueCache: placeholder, shape: placeholder, state: placeholder };
    await expect(createKvAppendDispatch(gpu, buffers, 0, 8)).rejects.toThrow('createKvAppendDispatch: tokens × width must be a positive integer (got 0 × 8)');
    placeholder.destroy();
  });
});
