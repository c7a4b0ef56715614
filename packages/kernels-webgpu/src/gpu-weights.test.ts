import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { readBuffer } from './buffers';
import { allocateWeights, uploadWeights, weightRowStride } from './gpu-weights';

const device = await requestTestDevice();

describe('weightRowStride', () => {
  it('pads rows to 16 bytes', () => {
    expect(weightRowStride(203, 'f32')).toBe(204);
    expect(weightRowStride(203, 'f16')).toBe(208);
    expect(weightRowStride(4096, 'f16')).toBe(4096);
  });
});

describe.skipIf(!device)('uploadWeights', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('keeps a small matrix in one window', () => {
    const weights = uploadWeights(gpu, new Float32Array(10 * 8), { rows: 10, cols: 8, format: 'f32' });
    expect(weights.windows).toHaveLength(1);
    expect(weights.windows[0]).toMatchObject({ rowStart: 0, rows: 10, binding: { offset: 0, size: 320 } });
    weights.destroy();
  });

  it('splits by rows into 256-byte aligned windows across buffers', () => {
    // 100 f16 columns → 104-element (208-byte) rows; 32 rows = 6656 bytes is the smallest aligned window.
    const weights = uploadWeights(gpu, new Uint16Array(100 * 100), { rows: 100, cols: 100, format: 'f16' }, { maxBindingBytes: 7000, maxBufferBytes: 14000 });
    expect(weights.windows.map((window) => [window.rowStart, window.rows, window.binding.offset])).toEqual([
      [0, 32, 0],
      [32, 32, 6656],
      [64, 32, 0],
      [96, 4, 6656],
    ]);
    expect(weights.windows[0].binding.buffer).not.toBe(weights.windows[2].binding.buffer);
    weights.destroy();
  });

  it('writes the rows (padded to 16 bytes) where the windows say, and allocateWeights cuts the same windows, zeroed', async () => {
    const data = Float32Array.from({ length: 100 * 3 }, (_, i) => i + 1);
    const options = { maxBindingBytes: 1024, maxBufferBytes: 2048 };
    const uploaded = uploadWeights(gpu, data, { rows: 100, cols: 3, format: 'f32' }, options);
    const allocated = allocateWeights(gpu, { rows: 100, cols: 3, format: 'f32' }, options);
    try {
      const windows = (weights: typeof uploaded) => weights.windows.map((window) => [window.rowStart, window.rows, window.binding.offset, window.binding.size]);
      expect(windows(allocated)).toEqual(windows(uploaded));
      for (const window of uploaded.windows) {
        const rows = new Float32Array(await readBuffer(gpu, window.binding, window.rows * 16));
        expect(rows.slice(0, 4)).toEqual(new Float32Array([window.rowStart * 3 + 1, window.rowStart * 3 + 2, window.rowStart * 3 + 3, 0]));
      }
      for (const window of allocated.windows) expect(new Float32Array(await readBuffer(gpu, window.binding)).every((value) => value === 0)).toBe(true);
    } finally {
      uploaded.destroy();
      allocated.destroy();
    }
  });

  it('rejects a binding limit below one aligned window, and data of the wrong type', () => {
    expect(() => uploadWeights(gpu, new Float32Array(64 * 3), { rows: 64, cols: 3, format: 'f32' }, { maxBindingBytes: 100 })).toThrow(
      /16 rows of 16 bytes \(the smallest 256-byte aligned window\) exceed the binding limit of 100 bytes/,
    );
    expect(() => uploadWeights(gpu, new Float32Array(4), { rows: 2, cols: 2, format: 'f16' })).toThrow(/data must be a Uint16Array/);
  });
});
