import { releaseTestDevice, requestTestDevice, createTestRng } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import type { KernelDispatch } from '../dispatch';
import { upperCholeskyOfInverseGpu } from '../inverse-cholesky/inverse-cholesky';
import { createRefitMatvecDispatch } from '../refit-matvec/refit-matvec';
import { randomSpd } from '../vptq-refit/test/refit-problem';
import { createRefitCgSteps, refitCgGroups, refitCgStateWords } from './refit-cg';
import { refitCgWgsl } from './refit-cg.wgsl';

const device = await requestTestDevice();

// Two SPD systems per block (full for columns 0, 1; cut for column 2), n = 300 (two row workgroups, one ragged).
const n = 300;
const v = 3;
const filled = 2;
const stride = n * n + 48;
const full = randomSpd(n, 21);
const cut = randomSpd(n, 22);
const ridges = [1e-3, 2e-3];
const next = createTestRng(23);
const b = Float64Array.from({ length: n * v }, () => next() * 2 - 1);
const x0 = Float64Array.from({ length: n * v }, (_, i) => (i % v === 1 ? 0.1 * (next() - 0.5) : 0));

function systemOf(j: number): Float64Array {
  return j < filled ? full : cut;
}

/** The f64 solution of (A_j + ρ_j·I)·x = b_j + ρ_j·x0_j by Cholesky, column by column. */
function exactSolution(): Float64Array {
  const solution = new Float64Array(n * v);
  for (let j = 0; j < v; j++) {
    const a = Float64Array.from(systemOf(j), (value, index) => value + (index % (n + 1) === 0 ? ridges[j < filled ? 0 : 1] : 0));
    const rhs = Float64Array.from({ length: n }, (_, k) => b[k * v + j] + ridges[j < filled ? 0 : 1] * x0[k * v + j]);
    for (let c = 0; c < n; c++) {
      let pivot = a[c * n + c];
      for (let k = 0; k < c; k++) pivot -= a[c * n + k] ** 2;
      a[c * n + c] = Math.sqrt(pivot);
      for (let r = c + 1; r < n; r++) {
        let sum = a[r * n + c];
        for (let k = 0; k < c; k++) sum -= a[r * n + k] * a[c * n + k];
        a[r * n + c] = sum / a[c * n + c];
      }
    }
    for (let r = 0; r < n; r++) {
      let sum = rhs[r];
      for (let k = 0; k < r; k++) sum -= a[r * n + k] * rhs[k];
      rhs[r] = sum / a[r * n + r];
    }
    for (let r = n - 1; r >= 0; r--) {
      let sum = rhs[r];
      for (let k = r + 1; k < n; k++) sum -= a[k * n + r] * rhs[k];
      rhs[r] = sum / a[r * n + r];
    }
    for (let k = 0; k < n; k++) solution[k * v + j] = rhs[k];
  }
  return solution;
}

/** Packs the full and cut f64 matrices into one f32 buffer at `stride`. */
function packed(first: Float64Array, second: Float64Array): Float32Array {
  const data = new Float32Array(2 * stride);
  data.set(Float32Array.from(first), 0);
  data.set(Float32Array.from(second), stride);
  return data;
}

async function solve(gpu: GPUDevice, preconditioner: 'jacobi' | 'cholesky', iterations: number, tolerance: number) {
  const diagonal = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    diagonal[k] = full[k * n + k] + ridges[0];
    diagonal[n + k] = cut[k * n + k] + ridges[1];
  }
  // r0 = b + ρ·x0 − (A + ρ)·x0 = b − A·x0, in f64.
  const r0 = new Float32Array(n * v);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < v; j++) {
      let sum = b[k * v + j];
      for (let i = 0; i < n; i++) sum -= systemOf(j)[k * n + i] * x0[i * v + j];
      r0[k * v + j] = sum;
    }
  }
  const vectorBytes = n * v * 4;
  const buffers = {
    precondition: createBufferWithData(gpu, 'test/precondition', diagonal),
    product: createStorageBuffer(gpu, 'test/product', vectorBytes),
    x: createBufferWithData(gpu, 'test/x', Float32Array.from(x0)),
    residual: createBufferWithData(gpu, 'test/residual', r0),
    preconditioned: createStorageBuffer(gpu, 'test/preconditioned', vectorBytes),
    direction: createStorageBuffer(gpu, 'test/direction', vectorBytes),
    partials: createStorageBuffer(gpu, 'test/partials', refitCgGroups(n) * 2 * v * 4),
    state: createStorageBuffer(gpu, 'test/state', v * refitCgStateWords * 4),
  };
  // The product (A_j + ρ_j·I)·p: the ridge folded into the matrices (symmetric, so the column access gives A·p).
  const withRidge = (a: Float64Array, ridge: number) => Float64Array.from(a, (value, index) => value + (index % (n + 1) === 0 ? ridge : 0));
  const matrices = createBufferWithData(gpu, 'test/matrices', packed(withRidge(full, ridges[0]), withRidge(cut, ridges[1])));
  const jacobi = preconditioner === 'jacobi';
  const steps = await createRefitCgSteps(gpu, buffers, { unknowns: n, vectorLength: v, filled, tolerance, jacobi });
  const matrixShape = { unknowns: n, vectorLength: v, filled, matrixStride: stride };
  const product = await createRefitMatvecDispatch(gpu, { matrices, x: buffers.direction, y: buffers.product }, { ...matrixShape, access: 'column' });
  const owned: { destroy(): void }[] = [matrices, product, steps, ...Object.values(buffers)];
  let start: KernelDispatch[] = [steps.jacobi, steps.dots];
  let afterUpdate: KernelDispatch[] = [steps.dots];
  if (!jacobi) {
    const factor = (a: Float64Array, ridge: number) => upperCholeskyOfInverseGpu(gpu, { data: withRidge(a, ridge), size: n });
    const factors = createBufferWithData(gpu, 'test/factors', packed(await factor(full, ridges[0]), await factor(cut, ridges[1])));
    const scratch = createStorageBuffer(gpu, 'test/scratch', vectorBytes);
    const upper = await createRefitMatvecDispatch(gpu, { matrices: factors, x: buffers.residual, y: scratch }, { ...matrixShape, access: 'row', upper: true });
    const upperTransposed = await createRefitMatvecDispatch(gpu, { matrices: factors, x: scratch, y: buffers.preconditioned }, { ...matrixShape, access: 'column', upper: true });
    owned.push(factors, scratch, upper, upperTransposed);
    start = [upper, upperTransposed, steps.dots];
    afterUpdate = start;
  }
  const encoder = gpu.createCommandEncoder();
  encoder.clearBuffer(buffers.direction);
  const pass = encoder.beginComputePass();
  for (const step of [...start, steps.start, steps.direction]) step.encode(pass);
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (const step of [product, steps.curvature, steps.step, steps.update, ...afterUpdate, steps.next, steps.direction]) step.encode(pass);
  }
  pass.end();
  gpu.queue.submit([encoder.finish()]);
  const x = new Float32Array(await readBuffer(gpu, buffers.x, vectorBytes));
  const state = new Float32Array(await readBuffer(gpu, buffers.state, v * refitCgStateWords * 4));
  for (const item of owned) item.destroy();
  return { x, state };
}

/** Relative error of column j against the exact solution. */
function columnError(x: Float32Array, exact: Float64Array, j: number): number {
  let difference = 0;
  let norm = 0;
  for (let k = 0; k < n; k++) {
    difference += (x[k * v + j] - exact[k * v + j]) ** 2;
    norm += exact[k * v + j] ** 2;
  }
  return Math.sqrt(difference / norm);
}

describe.skipIf(!device)('createRefitCgSteps', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);
  const exact = exactSolution();

  it('compiles every stage', async () => {
    await expect(compileShader(gpu, 'refit-cg', refitCgWgsl)).resolves.toBeDefined();
  });

  it('solves each column with its own matrix by Jacobi-preconditioned CG, stopping at the tolerance, the same bits twice', async () => {
    const { x, state } = await solve(gpu, 'jacobi', 300, 1e-5);
    for (let j = 0; j < v; j++) {
      // A relative residual of 1e-5 leaves a relative error of at most κ·1e-5 (κ ≈ 1e2 here); measured 2.5e-6–3.8e-6.
      expect(columnError(x, exact, j)).toBeLessThan(1e-4);
      const record = state.subarray(j * refitCgStateWords, (j + 1) * refitCgStateWords);
      expect(record[4]).toBe(0); // stopped
      expect(record[5]).toBeLessThanOrEqual(record[1]); // r·r ≤ tolerance²·r₀·r₀
      expect(record[6]).toBeGreaterThan(5);
      expect(record[6]).toBeLessThan(300);
    }
    const again = await solve(gpu, 'jacobi', 300, 1e-5);
    expect(again.x).toEqual(x);
  });

  it('never moves a stopped column: more iterations after convergence leave x as it was', async () => {
    const first = await solve(gpu, 'jacobi', 300, 1e-5);
    const more = await solve(gpu, 'jacobi', 400, 1e-5);
    expect(more.x).toEqual(first.x);
  });

  it('converges in a few iterations with the f32 Cholesky factor as preconditioner', async () => {
    const { x, state } = await solve(gpu, 'cholesky', 12, 1e-6);
    for (let j = 0; j < v; j++) {
      // Measured: 2 iterations, relative error 9e-7–1.2e-6 (f32 products and factor).
      expect(columnError(x, exact, j)).toBeLessThan(1e-5);
      expect(state[j * refitCgStateWords + 6]).toBeLessThanOrEqual(4);
    }
  });

  it('rejects a tolerance outside [0, 1)', async () => {
    const buffer = createStorageBuffer(gpu, 'test/any', 16);
    const buffers = { precondition: buffer, product: buffer, x: buffer, residual: buffer, preconditioned: buffer, direction: buffer, partials: buffer, state: buffer };
    await expect(createRefitCgSteps(gpu, buffers, { unknowns: 4, vectorLength: 1, filled: 1, tolerance: 1, jacobi: true })).rejects.toThrow(
      /shape.tolerance must be in \[0, 1\) \(got 1\)/,
    );
    buffer.destroy();
  });
});
