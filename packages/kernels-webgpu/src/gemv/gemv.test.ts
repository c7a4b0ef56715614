import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { f16ArrayToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { compileShader } from '../compile-shader';
import { gemv } from './gemv';
import { gemvSubgroupsWgsl, gemvWgsl } from './gemv.wgsl';
import { linearCpu } from './linear-cpu';

const device = await requestTestDevice();

describe('linearCpu', () => {
  it('computes x·Wᵀ + bias', () => {
    const y = linearCpu(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1, 1, 1]), { tokens: 2, rows: 3, cols: 2 }, new Float32Array([0, 10, 100]));
    expect([...y]).toEqual([1, 12, 103, 3, 14, 107]);
  });

  it('rejects a weight array of the wrong length', () => {
    expect(() => linearCpu(new Float32Array(2), new Float32Array(5), { tokens: 1, rows: 3, cols: 2 })).toThrow(
      /weights must have 6 elements \(\[rows, cols\]\) \(got 5\)/,
    );
  });
});

describe.skipIf(!device)('gemv', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles both reduction variants', async () => {
    await expect(compileShader(gpu, 'gemv', gemvWgsl)).resolves.toBeDefined();
    if (gpu.features.has('subgroups')) await expect(compileShader(gpu, 'gemv/subgroups', gemvSubgroupsWgsl)).resolves.toBeDefined();
  });

  const rows = 67;
  const cols = 203; // not a multiple of 8: exercises the zero-padded row tail
  const weights = randomFloats(rows * cols, 11);
  const bias = randomFloats(rows, 12);

  for (const tokens of [1, 3]) {
    for (const useSubgroups of [false, true]) {
      it(`f32 weights, ${tokens} token(s), ${useSubgroups ? 'subgroup' : 'shared-memory'} reduction`, async () => {
        if (useSubgroups && !gpu.features.has('subgroups')) return;
        const x = randomFloats(tokens * cols, 13 + tokens);
        const onGpu = await gemv(gpu, x, weights, { rows, cols, format: 'f32', tokens }, { bias, useSubgroups, workgroupSize: 64, rowsPerWorkgroup: tokens === 1 ? 2 : 1 });
        const onCpu = linearCpu(x, weights, { tokens, rows, cols }, bias);
        // f32 sums of 203 products of magnitude ≤ 1.
        expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-5);
      });
    }
  }

  it('f16 weights agree with the CPU on the f16-rounded weights', async () => {
    const bits = Uint16Array.from(weights, f32ToF16Bits);
    const x = randomFloats(2 * cols, 20);
    const onGpu = await gemv(gpu, x, bits, { rows, cols, format: 'f16', tokens: 2 });
    const onCpu = linearCpu(x, f16ArrayToF32(bits), { tokens: 2, rows, cols });
    expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-5);
  });

  it('reads aligned x as vectors, 1 or 4 rows per workgroup', async () => {
    const aligned = 208;
    const data = randomFloats(rows * aligned, 25);
    const x = randomFloats(aligned, 26);
    const reference = linearCpu(x, data, { tokens: 1, rows, cols: aligned }, bias);
    for (const rowsPerWorkgroup of [1, 4]) {
      const onGpu = await gemv(gpu, x, data, { rows, cols: aligned, format: 'f32' }, { bias, rowsPerWorkgroup });
      expect(maxAbsDifference(onGpu, reference)).toBeLessThan(2e-5);
    }
  });

  for (const useSubgroups of [true, false]) {
    it(`f16, one token, 8 rows per workgroup with 1–3 strides per iteration (rows and columns not multiples of them), ${useSubgroups ? 'subgroup' : 'shared-memory'} reduction`, async () => {
      // 37 rows: the last workgroup has 5; 1000 columns = 125 vectors of 8 f16, not a multiple of 32 × unroll.
      const tall = { rows: 37, cols: 1000 };
      const data = Uint16Array.from(randomFloats(tall.rows * tall.cols, 27), f32ToF16Bits);
      const x = randomFloats(tall.cols, 28);
      const tallBias = randomFloats(tall.rows, 29);
      const reference = linearCpu(x, f16ArrayToF32(data), { tokens: 1, ...tall }, tallBias);
      // Workgroup-memory reductions compile slowly on lavapipe: one combination there.
      for (const [rowsPerWorkgroup, unroll] of useSubgroups ? [[8, 1], [8, 2], [8, 3], [4, 2], [2, 2]] : [[8, 3]]) {
        const options = { bias: tallBias, rowsPerWorkgroup, unroll, workgroupSize: 32, useSubgroups: useSubgroups && gpu.features.has('subgroups') };
        const onGpu = await gemv(gpu, x, data, { ...tall, format: 'f16' }, options);
        expect(maxAbsDifference(onGpu, reference), `${rowsPerWorkgroup} rows, unroll ${unroll}`).toBeLessThan(2e-5);
      }
    });
  }

  it('splits a matrix larger than one binding into row windows', async () => {
    // 208 f16 columns = 416-byte rows: 8 rows (3328 bytes) is the smallest 256-byte aligned window, so
    // 4096-byte bindings give 9 windows of at most 8 rows.
    const wide = 208;
    const data = Uint16Array.from(randomFloats(rows * wide, 21), f32ToF16Bits);
    const x = randomFloats(wide, 22);
    const windowed = await gemv(gpu, x, data, { rows, cols: wide, format: 'f16' }, { maxBindingBytes: 4096, bias });
    const whole = linearCpu(x, f16ArrayToF32(data), { tokens: 1, rows, cols: wide }, bias);
    expect(maxAbsDifference(windowed, whole)).toBeLessThan(2e-5);
  });

  it('rejects more tokens than one GEMV handles', async () => {
    await expect(gemv(gpu, new Float32Array(9 * 4), new Float32Array(8), { rows: 2, cols: 4, format: 'f32', tokens: 9 })).rejects.toThrow(
      /shape.tokens must be an integer between 1 and 8 \(got 9\)/,
    );
  });
});
