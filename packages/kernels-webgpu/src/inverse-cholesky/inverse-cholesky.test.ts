import { HessianError, prepareHessian, prepareHessianAsync, upperCholeskyOfInverse } from '@vptq/hessian';
import { rejection, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { compileShader } from '../compile-shader';
import { backwardError, conditionNumber, hessianLike, illConditionedSpd, relativeError } from '../test/spd-matrices';
import { choleskyDiagonalWgsl } from './cholesky-diagonal.wgsl';
import { choleskyPanelWgsl } from './cholesky-panel.wgsl';
import { choleskyUpdateWgsl } from './cholesky-update.wgsl';
import { checkInverseCholeskySize, createInverseCholeskyDispatch, upperCholeskyOfInverseGpu } from './inverse-cholesky';
import { inverseRowsWgsl } from './inverse-rows.wgsl';
import { inverseUpdateWgsl } from './inverse-update.wgsl';
import { NotPositiveDefiniteError } from './not-positive-definite-error';

const device = await requestTestDevice();

/** f32's unit roundoff. */
const u = 2 ** -24;

/**
 * Tolerances, from the arithmetic. Backward: the matrix the GPU factor exactly factors, U⁻¹·U⁻ᵀ, differs from
 * A by the rounding of A to f32 (u) and of f32 inner products of length ≤ n, which grows like √n·u when
 * roundings are independent: we allow 4√n·u (measured: 0.9–11 u for n ≤ 300, κ up to 1e8). Forward: the
 * rounding of A alone changes U by up to about κ₂(A)·u to first order (A⁻¹ moves by κ₂ times A's relative
 * change), and the arithmetic adds the backward error: we allow (κ₂ + 4√n)·u (measured: 0.3–13 % of κ₂·u).
 * A wrong index or a missed update gives errors of order 1.
 */
function expectFactor(gpuFactor: Float64Array, a: Float64Array, size: number, condition?: number): void {
  const cpuFactor = upperCholeskyOfInverse({ data: a, size }).data;
  for (let i = 0; i < size; i++) {
    expect(gpuFactor[i * size + i]).toBeGreaterThan(0);
    for (let j = 0; j < i; j++) expect(gpuFactor[i * size + j]).toBe(0);
  }
  const backwardTolerance = 4 * Math.sqrt(size) * u;
  expect(backwardError(gpuFactor, a, size)).toBeLessThan(backwardTolerance);
  const kappa = condition ?? conditionNumber(a, cpuFactor, size);
  expect(relativeError(gpuFactor, cpuFactor)).toBeLessThan(kappa * u + backwardTolerance);
}

describe.skipIf(!device)('upperCholeskyOfInverseGpu', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles its five shaders', async () => {
    for (const [name, code] of Object.entries({ choleskyDiagonalWgsl, choleskyPanelWgsl, choleskyUpdateWgsl, inverseRowsWgsl, inverseUpdateWgsl })) {
      await expect(compileShader(gpu, name, code)).resolves.toBeDefined();
    }
  });

  it.each([
    [7, 3],
    [7, 64],
    [64, 16],
    [64, 64],
    [300, 8],
    [300, 64],
  ])('agrees with upperCholeskyOfInverse on a Hessian-like matrix (n = %i, blocks of %i, the last one ragged)', async (size, blockSize) => {
    const a = hessianLike(size, size + blockSize);
    expectFactor(await upperCholeskyOfInverseGpu(gpu, { data: a, size }, { blockSize }), a, size);
  });

  it.each([1e4, 1e6])('stays within the tolerance on an ill-conditioned matrix (κ₂ = %d, n = 128)', async (condition) => {
    const a = illConditionedSpd(128, condition, 5);
    expectFactor(await upperCholeskyOfInverseGpu(gpu, { data: a, size: 128 }, { blockSize: 32 }), a, 128, condition);
  });

  it('keeps a small backward error at κ₂ = 1e8, beyond 1/u, where f32 keeps no correct digit of U', async () => {
    const a = illConditionedSpd(128, 1e8, 7);
    const factor = await upperCholeskyOfInverseGpu(gpu, { data: a, size: 128 });
    expect(backwardError(factor, a, 128)).toBeLessThan(4 * Math.sqrt(128) * u);
  });

  it('reads only the upper triangle, and gives the same bytes on every run', async () => {
    const size = 300;
    const a = hessianLike(size, 11);
    const first = await upperCholeskyOfInverseGpu(gpu, { data: a, size }, { blockSize: 48 });
    const garbled = a.slice();
    for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) garbled[i * size + j] = -7;
    const second = await upperCholeskyOfInverseGpu(gpu, { data: garbled, size }, { blockSize: 48 });
    const third = await upperCholeskyOfInverseGpu(gpu, { data: a, size }, { blockSize: 48 });
    expect(Buffer.from(third.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    expect(Buffer.from(second.buffer).equals(Buffer.from(first.buffer))).toBe(true);
  });

  it('reports the first pivot that is not positive, with its position: the trailing block from there on is not positive definite', async () => {
    // Factored from the last row up: rows 2 and 1 are fine, row 0's pivot is 0.5 − 0.95²/1.5 < 0.
    const small = new Float64Array([0.5, 0, 0.95, 0, 1, 0, 0.95, 0, 1.5]);
    const error = await rejection(upperCholeskyOfInverseGpu(gpu, { data: small, size: 3 }));
    expect(error).toBeInstanceOf(NotPositiveDefiniteError);
    expect(error).toMatchObject({ code: 'VPTQ_HESSIAN_NOT_PD', pivot: 0, name: 'NotPositiveDefiniteError' });
    expect(error.value).toBeCloseTo(0.5 - 0.95 ** 2 / 1.5, 6);
    expect(error.message).toMatch(/^upperCholeskyOfInverseGpu: matrix is not positive definite in f32 \(pivot -0\.10\d+ at position 0: the trailing block from position 0 on/);

    // Two negative pivots in different blocks of 4: the one met first (the later row) is reported.
    const size = 12;
    const diagonal = new Float64Array(size * size);
    for (let i = 0; i < size; i++) diagonal[i * size + i] = 1;
    diagonal[5 * size + 5] = -2;
    diagonal[2 * size + 2] = -3;
    expect(await rejection(upperCholeskyOfInverseGpu(gpu, { data: diagonal, size }, { blockSize: 4 }))).toMatchObject({ pivot: 5, value: -2 });
  });

  it("plugs into @vptq/hessian's prepareHessianAsync: the same preparation, and the same retry on a matrix that is not positive definite", async () => {
    const size = 64;
    const h = { data: hessianLike(size, 3), size };
    const factorize = (matrix: { data: Float64Array; size: number }) => upperCholeskyOfInverseGpu(gpu, matrix);
    const onGpu = await prepareHessianAsync(h, { factorize });
    const onCpu = prepareHessian(h);
    expect({ ...onGpu, inverseCholesky: undefined }).toEqual({ ...onCpu, inverseCholesky: undefined });
    const damped = onCpu.hessian.slice();
    const mean = onCpu.diagonal.reduce((sum, value) => sum + value, 0) / size;
    for (let p = 0; p < size; p++) damped[p * size + p] += onCpu.inverseDamp * mean;
    expectFactor(onGpu.inverseCholesky, damped, size);

    // prepare-hessian.test.ts's matrix: columns 0 and 2 are not positive definite at 2% damping. The CPU meets
    // the failure at position 2 (column 0), the GPU, factoring from the other end, at position 0 (column 2).
    const indefinite = { data: new Float64Array([1, 0, 1.9, 0, 2, 0, 1.9, 0, 3]), size: 3 };
    const error = await rejection(prepareHessianAsync(indefinite, { factorize }));
    expect(error).toBeInstanceOf(HessianError);
    expect(error).toMatchObject({ code: 'VPTQ_HESSIAN_NOT_PD', pivot: 0, column: 2 });
    expect(error.cause).toBeInstanceOf(NotPositiveDefiniteError);
    const retried = await prepareHessianAsync(indefinite, { factorize, dampingRetries: 3 });
    expect(retried).toMatchObject({ retries: 1, inverseDamp: prepareHessian(indefinite, { dampingRetries: 3 }).inverseDamp });
  });

  it('rejects malformed matrices and options, naming the parameter', async () => {
    const fn = 'upperCholeskyOfInverseGpu';
    await expect(upperCholeskyOfInverseGpu(gpu, { data: new Float32Array(4) as never, size: 2 })).rejects.toThrow(
      `${fn}: matrix.data must be a Float64Array (got Float32Array(4))`,
    );
    await expect(upperCholeskyOfInverseGpu(gpu, { data: new Float64Array(8), size: 3 })).rejects.toThrow(
      `${fn}: matrix.data must hold size × size values (got 8, expected 3 × 3)`,
    );
    await expect(upperCholeskyOfInverseGpu(gpu, { data: new Float64Array(0), size: 0 })).rejects.toThrow(
      `${fn}: matrix.size must be an integer between 1 and 65535 (got 0)`,
    );
    const identity = new Float64Array([1, 0, 0, 1]);
    await expect(upperCholeskyOfInverseGpu(gpu, { data: identity, size: 2 }, { blockSize: 65 })).rejects.toThrow(
      `${fn}: options.blockSize must be an integer between 1 and 64 (got 65)`,
    );
    await expect(upperCholeskyOfInverseGpu(gpu, { data: new Float64Array([1, 0, Number.NaN, 1]), size: 2 })).rejects.toThrow(
      `${fn}: matrix must be finite in f32 (got NaN at row 1, column 0)`,
    );
    await expect(upperCholeskyOfInverseGpu(gpu, { data: new Float64Array([1e39, 0, 0, 1]), size: 2 })).rejects.toThrow(
      `${fn}: matrix must be finite in f32 (got 1e+39 at row 0, column 0)`,
    );
    const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    const tooLarge = Math.floor(Math.sqrt(limit / 4)) + 1;
    await expect(createInverseCholeskyDispatch(gpu, {} as never, { size: tooLarge })).rejects.toThrow(
      new RegExp(`^createInverseCholeskyDispatch: shape.size must be at most ${tooLarge - 1} on this device \\(got ${tooLarge}\\)`),
    );
  });
});

describe('checkInverseCholeskySize', () => {
  it('allows n ≤ 23170 under an H100\'s Dawn limits and n ≤ 5792 under WebGPU\'s default 128 MiB binding', () => {
    const h100 = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 40 };
    expect(() => checkInverseCholeskySize('f', 'size', h100, 23170)).not.toThrow();
    expect(() => checkInverseCholeskySize('f', 'size', h100, 23171)).toThrow(
      "f: size must be at most 23170 on this device (got 23171): the 23171 × 23171 f32 matrix takes 2147580964 bytes, above the device's maxStorageBufferBindingSize of 2147483644",
    );
    const defaults = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 };
    expect(() => checkInverseCholeskySize('f', 'size', defaults, 5792)).not.toThrow();
    expect(() => checkInverseCholeskySize('f', 'size', defaults, 5793)).toThrow(/at most 5792 .* maxStorageBufferBindingSize of 134217728$/);
    expect(() => checkInverseCholeskySize('f', 'size', { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 26 }, 4097)).toThrow(
      /at most 4096 .* maxBufferSize of 67108864$/,
    );
  });
});
