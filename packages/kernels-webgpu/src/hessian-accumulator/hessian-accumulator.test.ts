import { accumulateHessian, createHessianAccumulator, finalizeHessian, hessianAccumulatorFromSums } from '@vptq/hessian';
import type { FinalizedHessian } from '@vptq/hessian';
import { countDifferences, createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { bufferUsage } from '../gpu-flags';
import { createGpuHessianAccumulator } from './hessian-accumulator';
import type { GpuHessianAccumulatorOptions } from './hessian-accumulator';
import { hessianAccumulatorWgsl } from './hessian-accumulator.wgsl';
import { unpackHessianWgsl } from './unpack-hessian.wgsl';

const device = await requestTestDevice();
afterAll(releaseTestDevice);

/** `[tokens, columns]` inputs shaped like activations: a per-column scale and offset, seeded. */
function activations(tokens: number, columns: number, seed: number): Float32Array {
  const next = createTestRng(seed);
  const x = new Float32Array(tokens * columns);
  for (let t = 0; t < tokens; t++) {
    for (let c = 0; c < columns; c++) x[t * columns + c] = (next() * 2 - 1 + 0.3 * ((c % 3) - 1)) * (1 + (c % 7));
  }
  return x;
}

/** Feeds `x` in calls of the given sizes (ranges of one buffer, at offsets that are rarely 256-aligned) and finalizes. */
async function onGpu(
  gpu: GPUDevice,
  x: Float32Array,
  columns: number,
  calls: readonly number[],
  options?: GpuHessianAccumulatorOptions,
): Promise<FinalizedHessian> {
  const buffer = createBufferWithData(gpu, 'x', x);
  const accumulator = await createGpuHessianAccumulator(gpu, columns, options);
  try {
    let start = 0;
    for (const tokens of calls) {
      accumulator.accumulate({ buffer, offset: start * columns * 4, size: tokens * columns * 4 }, tokens);
      start += tokens;
    }
    expect(accumulator.tokens).toBe(start);
    return finalizeHessian(hessianAccumulatorFromSums(await accumulator.read()));
  } finally {
    accumulator.destroy();
    buffer.destroy();
  }
}

/**
 * The worst ratio of |GPU − CPU| to the error bound of the GPU's arithmetic, over H and the mean. A block's f32
 * dot product of 64 terms is off by at most γ₆₄ Σ|xᵢxⱼ| (γₘ = m u / (1 − m u), u = 2⁻²⁴, products rounded
 * too); each compensated addition adds at most ≈ 2⁻⁴⁷ of the running sum; the CPU's f64 sums and both divisions
 * by the token count add ≈ 2⁻⁵⁰ relative. So |ΔH| ≤ (γ₆₄ + blocks · 2⁻⁴⁶) · E[|x||x|ᵀ] + 2⁻⁵⁰ |H|.
 */
function worstErrorOverBound(gpu: FinalizedHessian, cpu: FinalizedHessian, x: Float32Array, tokens: number, finalRounding = 0): number {
  const absolute = finalizeHessian(accumulateHessian(createHessianAccumulator(cpu.size), x.map(Math.abs), tokens));
  const u = 2 ** -24;
  const factor = (64 * u) / (1 - 64 * u) + Math.floor(tokens / 64) * 2 ** -46;
  let worst = 0;
  for (let i = 0; i < gpu.data.length; i++) {
    const bound = factor * absolute.data[i] + (2 ** -50 + finalRounding) * Math.abs(cpu.data[i]);
    worst = Math.max(worst, Math.abs(gpu.data[i] - cpu.data[i]) / bound);
  }
  for (let i = 0; i < gpu.mean.length; i++) {
    const bound = factor * absolute.mean[i] + 2 ** -50 * Math.abs(cpu.mean[i]);
    worst = Math.max(worst, Math.abs(gpu.mean[i] - cpu.mean[i]) / bound);
  }
  return worst;
}

/** Bytes in which two results differ (0: the same bytes); a count, so that a failure prints no megabyte diff. */
function differingBytes(a: FinalizedHessian, b: FinalizedHessian): number {
  const view = (array: Float64Array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  return countDifferences(view(a.data), view(b.data)) + countDifferences(view(a.mean), view(b.mean));
}

describe.skipIf(!device)('createGpuHessianAccumulator', () => {
  const gpu = device as GPUDevice;

  it('compiles', async () => {
    await expect(compileShader(gpu, 'hessian-accumulator', hessianAccumulatorWgsl)).resolves.toBeDefined();
  });

  // 1000 tokens = 15 whole blocks + 40 pending; the call sizes cross block boundaries in every way.
  const tokens = 1000;
  const chunkings = [[1000], [1, 63, 64, 65, 300, 507], [...Array.from({ length: 27 }, () => 37), 1]];
  for (const columns of [7, 64, 257]) {
    it(`agrees with the CPU accumulator within the f32 block bound, and gives the same bytes for every chunking (n = ${columns})`, async () => {
      const x = activations(tokens, columns, columns);
      const cpu = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
      const results = [];
      for (const calls of chunkings) results.push(await onGpu(gpu, x, columns, calls));
      expect(results[0].tokens).toBe(tokens);
      expect(worstErrorOverBound(results[0], cpu, x, tokens)).toBeLessThanOrEqual(1);
      for (const result of results.slice(1)) expect(differingBytes(result, results[0])).toBe(0);
      // The same calls again: the same bytes (fixed-order sums, no float atomics).
      expect(differingBytes(await onGpu(gpu, x, columns, chunkings[1]), results[0])).toBe(0);
    });
  }

  it('gives the same bytes when the accumulator is split into windows of tile rows', async () => {
    const columns = 257; // 5 × 5 tiles, 15 stored; windows of at most 5 tiles: rows {0}, {1}, {2, 3}, {4}
    const x = activations(300, columns, 3);
    const whole = await onGpu(gpu, x, columns, [300]);
    expect(differingBytes(await onGpu(gpu, x, columns, [100, 200], { maxBindingBytes: 5 * 64 * 64 * 8 }), whole)).toBe(0);
  });

  it('keeps the sums that plain f32 accumulation loses, exactly', async () => {
    // Block 0 puts 2²⁴ · 64 = 2³⁰ on the diagonal; every later block adds 64, half an f32 ulp of 2³⁰, which a
    // plain f32 sum rounds away (to even) every time. Every block sum is exact in f32, so the compensated pairs
    // must give the f64 sums exactly.
    const columns = 3;
    const tokens = 64 * 40 + 9;
    const x = new Float32Array(tokens * columns);
    for (let t = 0; t < tokens; t++) {
      x[t * columns] = t < 64 ? 4096 : 1;
      x[t * columns + 1] = t < 64 ? -4096 : (t % 2) * 2 - 1;
      x[t * columns + 2] = 0.5;
    }
    const cpu = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
    const result = await onGpu(gpu, x, columns, [tokens]);
    expect(differingBytes(result, cpu)).toBe(0);
    expect(Math.fround(2 ** 30 + 64)).toBe(2 ** 30); // what plain f32 would have kept
  });

  it('reads without disturbing the accumulation, and hands the partial block over unsummed', async () => {
    const columns = 9;
    const x = activations(200, columns, 5);
    const buffer = createBufferWithData(gpu, 'x', x);
    const accumulator = await createGpuHessianAccumulator(gpu, columns);
    try {
      accumulator.accumulate(buffer, 150);
      const early = await accumulator.read();
      expect(early.tokens).toBe(128);
      expect(early.pending).toEqual(x.subarray(128 * columns, 150 * columns));
      expect(early.sumOuter[columns]).toBe(0); // lower triangle
      accumulator.accumulate({ buffer, offset: 150 * columns * 4 }, 50);
      const late = await accumulator.read();
      expect(late.tokens).toBe(192);
      expect(late.pending).toEqual(x.subarray(192 * columns));
      expect(differingBytes(finalizeHessian(hessianAccumulatorFromSums(late)), await onGpu(gpu, x, columns, [200]))).toBe(0);
    } finally {
      accumulator.destroy();
      buffer.destroy();
    }
  });

  it('rejects bad widths, inputs too small for the width, bad buffers and columns beyond the binding limit', async () => {
    await expect(createGpuHessianAccumulator(gpu, 0)).rejects.toThrow(/createGpuHessianAccumulator: columns must be an integer ≥ 1 \(got 0\)/);
    await expect(createGpuHessianAccumulator(gpu, 2.5)).rejects.toThrow(/columns must be an integer ≥ 1 \(got 2.5\)/);
    const limit = gpu.limits.maxStorageBufferBindingSize;
    const tooWide = 64 * (Math.floor(limit / (64 * 64 * 8)) + 1);
    await expect(createGpuHessianAccumulator(gpu, tooWide)).rejects.toThrow(
      new RegExp(`columns = ${tooWide} needs \\d+ bytes for one row of 64 × 64 tiles, above the binding limit of ${limit} bytes \\(maxStorageBufferBindingSize`),
    );
    await expect(createGpuHessianAccumulator(gpu, 257, { maxBindingBytes: 4 * 64 * 64 * 8 })).rejects.toThrow(/one row of 64 × 64 tiles, above the binding limit of 131072 bytes/);

    const columns = 8;
    const accumulator = await createGpuHessianAccumulator(gpu, columns);
    const narrow = createBufferWithData(gpu, 'x', new Float32Array(100 * (columns - 1)));
    const uniformOnly = gpu.createBuffer({ size: 100 * columns * 4, usage: bufferUsage.storage });
    try {
      expect(() => accumulator.accumulate(narrow, 100)).toThrow(
        /accumulate: x must hold tokens × columns f32 values, 100 × 8 × 4 = 3200 bytes \(got 2800 bytes at offset 0/,
      );
      expect(() => accumulator.accumulate({ buffer: narrow, offset: 2 }, 1)).toThrow(/x.offset must be a non-negative multiple of 4 \(got 2\)/);
      expect(() => accumulator.accumulate(uniformOnly, 100)).toThrow(/x must be a buffer with STORAGE and COPY_SRC usage \(got usage 0x80\)/);
      expect(() => accumulator.accumulate(narrow, -1)).toThrow(/tokens must be an integer ≥ 0 \(got -1\)/);
      expect(() => accumulator.accumulate({} as GPUBuffer, 1)).toThrow(TypeError);
      expect(accumulator.tokens).toBe(0);
    } finally {
      accumulator.destroy();
      narrow.destroy();
      uniformOnly.destroy();
    }
    expect(() => accumulator.accumulate(narrow, 0)).toThrow(/accumulate: the accumulator was destroyed/);
    await expect(accumulator.read()).rejects.toThrow(/read: the accumulator was destroyed/);
  });
});

describe.skipIf(!device)('GpuHessianAccumulator.finalize', () => {
  const gpu = device as GPUDevice;

  /** Accumulates `x` in the given calls and finalizes on the device; the matrix read back as f64. */
  async function finalizeOnGpu(x: Float32Array, columns: number, calls: readonly number[], options?: GpuHessianAccumulatorOptions) {
    const buffer = createBufferWithData(gpu, 'x', x);
    const accumulator = await createGpuHessianAccumulator(gpu, columns, options);
    try {
      let start = 0;
      for (const tokens of calls) {
        accumulator.accumulate({ buffer, offset: start * columns * 4, size: tokens * columns * 4 }, tokens);
        start += tokens;
      }
      const result = await accumulator.finalize();
      const matrix = new Float32Array(await readBuffer(gpu, result.matrix.buffer, columns * columns * 4));
      result.matrix.destroy();
      expect(() => accumulator.accumulate(buffer, 1)).toThrow(/finalized on the device and takes no more tokens/);
      return { ...result, data: Float64Array.from(matrix) };
    } finally {
      accumulator.destroy();
      buffer.destroy();
    }
  }

  it('compiles its unpacking shader', async () => {
    await expect(compileShader(gpu, 'unpack-hessian', unpackHessianWgsl)).resolves.toBeDefined();
  });

  for (const columns of [7, 64, 257]) {
    it(`gives E[xxᵀ] on the device within the f32 block bound plus its final rounding, symmetric, pending tokens included (n = ${columns})`, async () => {
      const tokens = 1000; // 15 blocks + 40 pending
      const x = activations(tokens, columns, columns);
      const cpu = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
      const gpuResult = await finalizeOnGpu(x, columns, [1, 63, 64, 872]);
      expect(gpuResult.tokens).toBe(tokens);
      expect(gpuResult.size).toBe(columns);
      for (let i = 0; i < columns; i++) for (let j = 0; j < i; j++) expect(gpuResult.data[i * columns + j]).toBe(gpuResult.data[j * columns + i]);
      // The accumulation's bound (see worstErrorOverBound) plus three roundings of the value: the f32 sum hi + lo,
      // the f32 reciprocal of the token count and the product.
      const onDevice: FinalizedHessian = { ...cpu, data: gpuResult.data, mean: gpuResult.mean };
      expect(worstErrorOverBound(onDevice, cpu, x, tokens, 3 * 2 ** -24)).toBeLessThanOrEqual(1);
      for (let i = 0; i < columns; i++) expect(Math.abs(gpuResult.diagonal[i] - cpu.data[i * columns + i])).toBeLessThanOrEqual(1e-6 * cpu.data[i * columns + i]);
    });
  }

  it('gives exactly the host finalization’s diagonal and mean when no token is pending, and the same bytes across windows', async () => {
    const columns = 257;
    const x = activations(640, columns, 11);
    const viaHost = await onGpu(gpu, x, columns, [640]);
    const whole = await finalizeOnGpu(x, columns, [640]);
    const windows = await finalizeOnGpu(x, columns, [300, 340], { maxBindingBytes: 5 * 64 * 64 * 8 });
    for (let i = 0; i < columns; i++) expect(whole.diagonal[i]).toBe(viaHost.data[i * columns + i]);
    expect(Array.from(whole.mean)).toEqual(Array.from(viaHost.mean));
    expect(countDifferences(new Uint8Array(windows.data.buffer), new Uint8Array(whole.data.buffer))).toBe(0);
    // Each entry is the f32 rounding of its sum / tokens.
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(whole.data[i] - viaHost.data[i]) / (Math.abs(viaHost.data[i]) || 1));
    expect(worst).toBeLessThanOrEqual(3 * 2 ** -24);
  });

  it('rejects non-finite sums naming the entry, and an empty accumulator', async () => {
    const columns = 9;
    const x = activations(128, columns, 5);
    x[70 * columns + 4] = Number.POSITIVE_INFINITY;
    await expect(finalizeOnGpu(x, columns, [128])).rejects.toThrow(/finalize: the sums must be finite \(got a non-finite value at row 0, column 4/);
    const empty = await createGpuHessianAccumulator(gpu, columns);
    await expect(empty.finalize()).rejects.toThrow(/must hold at least one token \(got 0\)/);
    empty.destroy();
  });
});
