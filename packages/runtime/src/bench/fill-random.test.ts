import { submitDispatches } from '@vptq/kernels-webgpu';
import { createStorageBuffer, readBuffer } from '@vptq/kernels-webgpu/authoring';
import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { f16BitsToF32 } from '@vptq/pack-format/safetensors';
import { createFillRandomDispatch, fillRandomCpu } from './fill-random';
import type { FillRandomOptions } from './fill-random';

const device = await requestTestDevice();

describe('fillRandomCpu', () => {
  it('gives values in ±[scale/4, scale), never zero, with both signs, and continues one stream across offsets', () => {
    const words = fillRandomCpu(4000, { mode: 'f32', seed: 3, scale: 0.5 });
    const values = new Float32Array(words.buffer);
    expect(Math.min(...values.map(Math.abs))).toBeGreaterThanOrEqual(0.125);
    expect(Math.max(...values.map(Math.abs))).toBeLessThan(0.5);
    expect(values.filter((value) => value < 0).length / values.length).toBeCloseTo(0.5, 1);
    expect(fillRandomCpu(10, { mode: 'u32', seed: 3, offset: 1990 })).toEqual(fillRandomCpu(2000, { mode: 'u32', seed: 3 }).subarray(1990));
    expect(fillRandomCpu(8, { mode: 'u32', seed: 4 })).not.toEqual(fillRandomCpu(8, { mode: 'u32', seed: 3 }));
  });
});

describe.skipIf(!device)('createFillRandomDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  const fill = async (count: number, options: FillRandomOptions): Promise<Uint32Array> => {
    const buffer = createStorageBuffer(gpu, 'fill-test', count * 4);
    const dispatch = await createFillRandomDispatch(gpu, buffer, count, options);
    try {
      submitDispatches(gpu, 'fill-test', [dispatch]);
      return new Uint32Array(await readBuffer(gpu, buffer, count * 4));
    } finally {
      dispatch.destroy();
      buffer.destroy();
    }
  };

  it('writes the CPU twin\'s words: u32 and f32 exactly, f16 within one unit in the last place', async () => {
    const count = 70_001;
    for (const options of [{ mode: 'u32', seed: 9, offset: 123 }, { mode: 'f32', seed: 2, scale: 0.02 }] as const) {
      expect(await fill(count, options)).toEqual(fillRandomCpu(count, options));
    }
    const options = { mode: 'f16', seed: 5, scale: 3 } as const;
    const actual = await fill(count, options);
    const expected = fillRandomCpu(count, options);
    let worst = 0;
    let zeros = 0;
    for (let i = 0; i < count; i++) {
      for (const shift of [0, 16]) {
        const a = (actual[i] >>> shift) & 0xffff;
        const e = (expected[i] >>> shift) & 0xffff;
        if (f16BitsToF32(a) === 0) zeros++;
        worst = Math.max(worst, Math.abs(a - e));
      }
    }
    expect(zeros).toBe(0);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('rejects bad arguments', async () => {
    const buffer = createStorageBuffer(gpu, 'fill-test', 16);
    try {
      await expect(createFillRandomDispatch(gpu, buffer, 0, { mode: 'u32', seed: 1 })).rejects.toThrow(
        'createFillRandomDispatch: count must be an integer between 1 and 2^32 − 1 (got 0)',
      );
      await expect(createFillRandomDispatch(gpu, buffer, 4, { mode: 'f32', seed: 1, scale: 0 })).rejects.toThrow(/scale must be a finite number > 0 \(got 0\)/);
      await expect(createFillRandomDispatch(gpu, buffer, 4, { mode: 'bf16' as 'f16', seed: 1 })).rejects.toThrow(/mode must be 'u32', 'f16' or 'f32' \(got bf16\)/);
    } finally {
      buffer.destroy();
    }
  });
});
