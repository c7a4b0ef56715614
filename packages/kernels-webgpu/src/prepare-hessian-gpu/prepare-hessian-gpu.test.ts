import { HessianError, finalizeHessian, hessianAccumulatorFromSums, prepareHessian } from '@vptq/hessian';
import type { PrepareHessianOptions } from '@vptq/hessian';
import { createTestRng, rejection, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, readBuffer } from '../buffers';
import type { GpuMatrix } from '../device-matrix/gpu-matrix';
import { createGpuHessianAccumulator } from '../hessian-accumulator/hessian-accumulator';
import { backwardError, hessianLike } from '../test/spd-matrices';
import { prepareHessianGpu } from './prepare-hessian-gpu';

const device = await requestTestDevice();
afterAll(releaseTestDevice);

const u = 2 ** -24;

/** `hessianLike` scaled by 3.7 (so that the normalization does something), with columns `dead` zeroed. */
function rawHessian(size: number, seed: number, dead: readonly number[] = []): Float64Array {
  const h = hessianLike(size, seed).map((value) => value * 3.7);
  for (const column of dead) {
    for (let i = 0; i < size; i++) {
      h[column * size + i] = 0;
      h[i * size + column] = 0;
    }
  }
  return h;
}

async function read(gpu: GPUDevice, matrix: GpuMatrix): Promise<Float64Array> {
  return Float64Array.from(new Float32Array(await readBuffer(gpu, matrix.buffer, matrix.size * matrix.size * 4)));
}

describe.skipIf(!device)('prepareHessianGpu', () => {
  const gpu = device as GPUDevice;

  it.each([
    [70, 'diag-desc', [3, 41]],
    [70, 'identity', [0]],
    [130, 'diag-desc', []],
  ] as const)('matches prepareHessian: the same plan, H within f32 roundings, a factor of the damped H (n = %i, %s)', async (size, order, dead) => {
    const raw = rawHessian(size, size, dead);
    const options: PrepareHessianOptions = { order, damp: 0.01, inverseDamp: 0.02 };
    const cpu = prepareHessian({ data: raw, size }, options);
    const prepared = await prepareHessianGpu(gpu, { data: raw, size }, options);
    try {
      expect(Array.from(prepared.perm)).toEqual(Array.from(cpu.perm));
      expect(Array.from(prepared.invPerm)).toEqual(Array.from(cpu.invPerm));
      expect(prepared.deadColumns).toEqual(cpu.deadColumns);
      expect(Array.from(prepared.diagonal)).toEqual(Array.from(cpu.diagonal));
      expect([prepared.scale, prepared.damp, prepared.inverseDamp, prepared.retries]).toEqual([cpu.scale, cpu.damp, cpu.inverseDamp, cpu.retries]);
      const hessian = await read(gpu, prepared.hessian);
      let worst = 0;
      for (let p = 0; p < size; p++) {
        // The diagonal is the host's f64 value rounded once.
        expect(hessian[p * size + p]).toBe(Math.fround(cpu.hessian[p * size + p]));
        // Off it: the f32 raw entry times the f32 reciprocal of the scale (three roundings at most).
        for (let q = 0; q < size; q++) if (q !== p) worst = Math.max(worst, Math.abs(hessian[p * size + q] - cpu.hessian[p * size + q]) / (Math.abs(cpu.hessian[p * size + q]) || 1));
      }
      expect(worst).toBeLessThanOrEqual(3 * u);
      // U exactly factors a matrix within the f32 inner products' error of the damped H (as the GPU inverse
      // Cholesky's own tests bound it, with its input's roundings): a wrong entry or order gives errors of order 1.
      const damped = cpu.hessian.slice();
      for (let p = 0; p < size; p++) damped[p * size + p] += cpu.inverseDamp * (cpu.diagonal.reduce((sum, value) => sum + value, 0) / size);
      const factor = await read(gpu, prepared.inverseCholesky);
      for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) expect(factor[i * size + j]).toBe(0);
      expect(backwardError(factor, damped, size)).toBeLessThan(8 * Math.sqrt(size) * u);
    } finally {
      prepared.hessian.destroy();
      prepared.inverseCholesky.destroy();
    }
  });

  it('prepares a Hessian finalized on the device as it prepares the same sums on the host', async () => {
    const columns = 100;
    const tokens = 640;
    const next = createTestRng(4);
    const x = Float32Array.from({ length: tokens * columns }, (_, index) => (next() * 2 - 1) * (1 + (index % columns) / 10));
    const input = createBufferWithData(gpu, 'x', x);
    const accumulator = await createGpuHessianAccumulator(gpu, columns);
    accumulator.accumulate(input, tokens);
    const host = finalizeHessian(hessianAccumulatorFromSums(await accumulator.read()));
    const onDevice = await accumulator.finalize();
    accumulator.destroy();
    input.destroy();
    const fromDevice = await prepareHessianGpu(gpu, onDevice);
    const fromHost = await prepareHessianGpu(gpu, host);
    onDevice.matrix.destroy();
    try {
      expect(Array.from(fromDevice.perm)).toEqual(Array.from(fromHost.perm));
      expect(Array.from(fromDevice.diagonal)).toEqual(Array.from(fromHost.diagonal));
      expect(fromDevice.scale).toBe(fromHost.scale);
      const [a, b] = [await read(gpu, fromDevice.hessian), await read(gpu, fromHost.hessian)];
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) || 1));
      // The device matrix was rounded to f32 once more (sum, reciprocal of the token count).
      expect(worst).toBeLessThanOrEqual(6 * u);
    } finally {
      for (const prepared of [fromDevice, fromHost]) {
        prepared.hessian.destroy();
        prepared.inverseCholesky.destroy();
      }
    }
  });

  it('retries an indefinite matrix with more damping as prepareHessian does, and names the column when it may not', async () => {
    // Eigenvalues −1 and 3 around a unit diagonal: positive definite only once the second damping reaches ~1.
    const raw = new Float64Array([1, 2, 2, 1]);
    const cpu = prepareHessian({ data: raw, size: 2 }, { dampingRetries: 3 });
    const gpuPrepared = await prepareHessianGpu(gpu, { data: raw, size: 2 }, { dampingRetries: 3 });
    expect([gpuPrepared.retries, gpuPrepared.inverseDamp]).toEqual([cpu.retries, cpu.inverseDamp]);
    expect(cpu.retries).toBe(2);
    gpuPrepared.hessian.destroy();
    gpuPrepared.inverseCholesky.destroy();
    const error = await rejection(prepareHessianGpu(gpu, { data: raw, size: 2 }));
    expect(error).toBeInstanceOf(HessianError);
    expect(error.code).toBe('VPTQ_HESSIAN_NOT_PD');
    expect(error.message).toMatch(/prepareHessianGpu: hessian is not positive definite after damping \(pivot at position \d, original column \d/);
  });

  it('rejects a non-finite or all-zero Hessian and bad options like prepareHessian', async () => {
    const raw = rawHessian(5, 1);
    raw[7] = Number.NaN;
    expect((await rejection(prepareHessianGpu(gpu, { data: raw, size: 5 }))).code).toBe('VPTQ_HESSIAN_NOT_FINITE');
    raw[7] = 1e39; // finite in f64, not in f32
    await expect(prepareHessianGpu(gpu, { data: raw, size: 5 })).rejects.toThrow(/hessian must be finite in f32 \(got 1e\+39 at row 1, column 2\)/);
    expect((await rejection(prepareHessianGpu(gpu, { data: new Float64Array(9), size: 3 }))).code).toBe('VPTQ_HESSIAN_ZERO');
    await expect(prepareHessianGpu(gpu, { data: rawHessian(3, 2), size: 3 }, { damp: -1 })).rejects.toThrow(/damp must be a finite number ≥ 0 \(got -1\)/);
    await expect(prepareHessianGpu(gpu, { data: new Float64Array(8), size: 3 })).rejects.toThrow(/hessian.data must be a Float64Array or Float32Array of size × size values/);
  });
});
