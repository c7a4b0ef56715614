import { randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createStorageBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { createGemmTnDispatch, gemmTn } from './gemm-tn';
import type { GemmTnShape } from './gemm-tn';
import { gemmTnCpu } from './gemm-tn-cpu';
import { gemmTnWgsl } from './gemm-tn.wgsl';

const device = await requestTestDevice();

/** u = 2⁻²⁴, the unit roundoff of f32; γ_k = k·u/(1 − k·u) bounds k rounded operations in a row (Higham). */
const unit = 2 ** -24;
const gamma = (count: number) => (count * unit) / (1 - count * unit);

// Ragged in every direction: m, n and k are not multiples of the 64 × 64 × 16 tiling; strides exceed the rows.
const shape: GemmTnShape = { m: 70, n: 45, k: 37, lda: 75, ldb: 50, ldx: 72, aOffset: 3, bOffset: 5, xOffset: 2 };

describe.skipIf(!device)('gemmTn', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'gemm-tn', gemmTnWgsl)).resolves.toBeDefined();
  });

  it('subtracts Aᵀ·B within the f32 bound of its CPU twin', async () => {
    const a = randomFloats(3 + shape.k * shape.lda, 1);
    const b = randomFloats(5 + shape.k * shape.ldb, 2);
    const x = randomFloats(2 + shape.n * 72, 3);
    const onGpu = await gemmTn(gpu, a, b, x, shape, 'subtract');
    const onCpu = gemmTnCpu(a, b, x, shape, 'subtract') as Float32Array;
    let touched = 0;
    for (let n = 0; n < shape.n; n++) {
      for (let m = 0; m < shape.m; m++) {
        const index = 2 + n * 72 + m;
        // The GPU sums 16 fused products per slab in f32 (γ₁₆·Σ|ab|) and the slab sums with Kahan compensation
        // (2u·|C| + O(k·u²)·Σ|ab|), then both sides round x − C once (u·|x − C| each).
        let magnitude = 0;
        for (let k = 0; k < shape.k; k++) magnitude += Math.abs(a[3 + k * 75 + m] * b[5 + k * 50 + n]);
        const bound = (gamma(16) + 2 * unit) * magnitude * (1 + unit) + 2 * unit * Math.abs(onCpu[index]) + 1e-30;
        expect(Math.abs(onGpu[index] - onCpu[index])).toBeLessThanOrEqual(bound);
        touched++;
      }
    }
    expect(touched).toBe(70 * 45);
    // Outside the m × n window (padding between ldx-strided columns, the offset) nothing moved.
    for (const index of [0, 1, 2 + 70, 2 + 71, 2 + 72 + 70]) expect(onGpu[index]).toBe(x[index]);
  });

  it('stores Aᵀ·B within the f32 bound of its CPU twin, leaving the rest of X alone', async () => {
    const a = randomFloats(3 + shape.k * shape.lda, 6);
    const b = randomFloats(5 + shape.k * shape.ldb, 7);
    const x = randomFloats(2 + shape.n * 72, 8);
    const onGpu = await gemmTn(gpu, a, b, x, shape, 'store');
    const onCpu = gemmTnCpu(a, b, x, shape, 'store') as Float32Array;
    for (let n = 0; n < shape.n; n++) {
      for (let m = 0; m < shape.m; m++) {
        const index = 2 + n * 72 + m;
        let magnitude = 0;
        for (let k = 0; k < shape.k; k++) magnitude += Math.abs(a[3 + k * 75 + m] * b[5 + k * 50 + n]);
        // As for subtract, without x: the slab sums and their compensated total, then one rounding each side.
        const bound = (gamma(16) + 2 * unit) * magnitude * (1 + unit) + 2 * unit * Math.abs(onCpu[index]) + 1e-30;
        expect(Math.abs(onGpu[index] - onCpu[index])).toBeLessThanOrEqual(bound);
        expect(Math.abs(onGpu[index] - x[index])).toBeGreaterThan(0);
      }
    }
    for (const index of [0, 1, 2 + 70, 2 + 71, 2 + 72 + 70]) expect(onGpu[index]).toBe(x[index]);
  });

  it('sums the quadratic form tr(Aᵀ·B·A) within the f32 bound of its CPU twin', async () => {
    const size = { m: 130, n: 70, k: 70, lda: 130, ldb: 70 };
    // k = 70: five slabs, the last one ragged.
    const a = randomFloats(size.k * size.lda, 4);
    const b = randomFloats(size.k * size.ldb, 5);
    const partials = await gemmTn(gpu, a, b, undefined, size, 'quadratic');
    expect(partials.length).toBe(3 * 2);
    let total = 0;
    for (const value of partials) total += value;
    const exact = gemmTnCpu(a, b, undefined, size, 'quadratic') as number;
    // Each C entry carries (γ₁₆ + 2u)·Σ|ab| (see above); the 16 products per invocation and the 8-level tree add
    // γ₂₄ of Σ|C·a|.
    let bound = 0;
    for (let n = 0; n < size.n; n++) {
      for (let m = 0; m < size.m; m++) {
        let c = 0;
        let magnitude = 0;
        for (let k = 0; k < size.k; k++) {
          c += a[k * 130 + m] * b[k * 70 + n];
          magnitude += Math.abs(a[k * 130 + m] * b[k * 70 + n]);
        }
        const weight = Math.abs(a[n * 130 + m]);
        bound += weight * (gamma(16) + 2 * unit) * magnitude + gamma(24) * Math.abs(c) * weight;
      }
    }
    expect(Math.abs(total - exact)).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(Math.abs(total - exact)).toBeGreaterThan(0); // f32 sums: an exact match would mean the test compares nothing
  });

  it('gives the same bytes twice', async () => {
    const a = randomFloats(3 + shape.k * shape.lda, 6);
    const b = randomFloats(5 + shape.k * shape.ldb, 7);
    const x = randomFloats(2 + shape.n * 72, 8);
    const first = await gemmTn(gpu, a, b, x, shape, 'subtract');
    const second = await gemmTn(gpu, a, b, x, shape, 'subtract');
    expect(new Uint8Array(second.buffer)).toEqual(new Uint8Array(first.buffer));
  });

  it('rejects bad shapes and buffers too small for them, naming the field', async () => {
    const a = createStorageBuffer(gpu, 'test', 64 * 4);
    const b = createStorageBuffer(gpu, 'test', 64 * 4);
    const base = { m: 4, n: 4, k: 4, lda: 4, ldb: 4 };
    const create = (changes: object, buffers: object = { a, b, x: a }, epilogue: 'subtract' | 'quadratic' = 'subtract') =>
      createGemmTnDispatch(gpu, buffers as never, { ...base, ...changes }, epilogue);
    await expect(create({ m: 0 })).rejects.toThrow(/shape.m must be an integer ≥ 1 \(got 0\)/);
    await expect(create({ lda: 3 })).rejects.toThrow(/shape.lda must be an integer ≥ 4 \(got 3\)/);
    await expect(create({ k: 20 })).rejects.toThrow(/buffers.a must hold at least 80 f32 values for this shape \(got 64\)/);
    await expect(create({}, { a, b })).rejects.toThrow(/buffers.x is required for the subtract epilogue/);
    await expect(create({}, { a, b }, 'quadratic')).rejects.toThrow(/buffers.sums is required/);
    await expect(create({}, { a, b, x: a }, 'sum' as never)).rejects.toThrow(/epilogue must be 'subtract', 'store' or 'quadratic'/);
    await expect(create({ m: 64 * 65536, lda: 64 * 65536 }, { a: createStorageBuffer(gpu, 'test', 1 << 26), b, x: a })).rejects.toThrow(RangeError);
    a.destroy();
    b.destroy();
  });
});
