import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { allFinite, createFirstNonFiniteDispatch, createNonFiniteResult, createPermuteHessianDispatch, createScaleMatrixDispatch, deadColumn } from './device-matrix';
import { firstNonFiniteWgsl, permuteHessianWgsl, scaleMatrixWgsl } from './device-matrix.wgsl';

const device = await requestTestDevice();

function randomValues(count: number, seed: number): Float32Array {
  const next = createTestRng(seed);
  return Float32Array.from({ length: count }, () => next() * 4 - 2);
}

/** A random permutation of 0..n−1 (Fisher–Yates, seeded). */
function randomPermutation(size: number, seed: number): Uint32Array {
  const next = createTestRng(seed);
  const perm = Uint32Array.from({ length: size }, (_, index) => index);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

describe.skipIf(!device)('device-matrix kernels', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  async function run(size: number, record: (destination: GPUBuffer) => Promise<KernelDispatch>): Promise<Float32Array> {
    const destination = createStorageBuffer(gpu, 'test/destination', size * size * 4);
    const step = await record(destination);
    submitDispatches(gpu, 'test', [step]);
    const values = new Float32Array(await readBuffer(gpu, destination, size * size * 4));
    step.destroy();
    destination.destroy();
    return values;
  }

  it('compiles its three shaders', async () => {
    for (const [name, code] of Object.entries({ permuteHessianWgsl, scaleMatrixWgsl, firstNonFiniteWgsl })) {
      await expect(compileShader(gpu, name, code)).resolves.toBeDefined();
    }
  });

  it.each([1, 7, 70])('gathers the permuted, scaled matrix with dead rows and columns and the given diagonal (n = %i)', async (size) => {
    const source = randomValues(size * size, size);
    const perm = randomPermutation(size, size + 1);
    const order = Uint32Array.from(perm);
    // Every fifth position is a dead column.
    for (let p = 0; p < size; p += 5) if (size > 1) order[p] = deadColumn;
    const diagonal = randomValues(size, size + 2);
    const scale = 0.37;
    const buffers = {
      source: createBufferWithData(gpu, 'test/source', source),
      order: createBufferWithData(gpu, 'test/order', order),
      diagonal: createBufferWithData(gpu, 'test/diagonal', diagonal),
    };
    const actual = await run(size, (destination) => createPermuteHessianDispatch(gpu, { ...buffers, destination }, { size, scale }));
    for (const buffer of Object.values(buffers)) buffer.destroy();
    for (let p = 0; p < size; p++) {
      for (let q = 0; q < size; q++) {
        const dead = order[p] === deadColumn || order[q] === deadColumn;
        // The CPU twin: one f32 product of the f32 entry and the f32 scale.
        const expected = p === q ? diagonal[p] : dead ? 0 : Math.fround(source[perm[p] * size + perm[q]] * Math.fround(scale));
        expect(actual[p * size + q]).toBe(expected);
      }
    }
  });

  it.each([5, 66])('scales both sides, and forms the column loop’s factors U·D⁻¹ (n = %i)', async (size) => {
    const source = randomValues(size * size, 3 * size);
    // An upper triangular U with a positive diagonal.
    for (let c = 0; c < size; c++) {
      source[c * size + c] = 0.5 + Math.abs(source[c * size + c]);
      for (let j = 0; j < c; j++) source[c * size + j] = 0;
    }
    const scale = Float32Array.from(randomValues(size, 4 * size), (value) => 0.25 + Math.abs(value));
    const buffers = { source: createBufferWithData(gpu, 'test/source', source), scale: createBufferWithData(gpu, 'test/scale', scale) };
    const both = await run(size, (destination) => createScaleMatrixDispatch(gpu, { ...buffers, destination }, { size, mode: 'both-sides' }));
    const factors = await run(size, (destination) => createScaleMatrixDispatch(gpu, { ...buffers, destination }, { size, mode: 'factors' }));
    for (const buffer of Object.values(buffers)) buffer.destroy();
    const ulps = (actual: number, expected: number) => Math.abs(actual - expected) / (Math.abs(expected) * 2 ** -23 || 1);
    let worst = 0;
    for (let a = 0; a < size; a++) {
      for (let b = 0; b < size; b++) {
        const index = a * size + b;
        expect(both[index]).toBe(Math.fround(Math.fround(scale[a] * source[index]) * scale[b]));
        // f64 quotients rounded once; WGSL allows 2.5 ulp for f32 division.
        const expected = b < a ? 0 : b === a ? Math.fround(scale[a] / source[index]) : Math.fround(source[index] / scale[b]);
        if (b < a) expect(factors[index]).toBe(0);
        else worst = Math.max(worst, ulps(factors[index], expected));
      }
    }
    expect(worst).toBeLessThanOrEqual(2.5);
  });

  it('finds the lowest non-finite index, or none', async () => {
    const values = randomValues(10_000, 9);
    const find = async (data: Float32Array) => {
      const buffer = createBufferWithData(gpu, 'test/values', data);
      const result = createNonFiniteResult(gpu, 'test/result');
      const step = await createFirstNonFiniteDispatch(gpu, { values: buffer, result }, data.length);
      submitDispatches(gpu, 'test', [step]);
      const [first] = new Uint32Array(await readBuffer(gpu, result, 4));
      for (const item of [step, buffer, result]) item.destroy();
      return first;
    };
    expect(await find(values)).toBe(allFinite);
    values[7001] = Number.POSITIVE_INFINITY;
    values[9000] = Number.NaN;
    expect(await find(values)).toBe(7001);
    values[12] = Number.NEGATIVE_INFINITY;
    expect(await find(values)).toBe(12);
  });
});
