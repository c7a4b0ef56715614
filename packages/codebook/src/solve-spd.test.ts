import { describe, expect, it } from 'vitest';

import { choleskyFactor, choleskySolve, conjugateGradient } from './solve-spd';
import { randomHessian } from './test/random-layer';

const n = 12;
const matrix = randomHessian(n, 21);
const expected = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
const rhs = Float64Array.from({ length: n }, (_, i) => expected.reduce((sum, value, j) => sum + matrix[i * n + j] * value, 0));

describe('choleskyFactor / choleskySolve', () => {
  it('solves an SPD system to rounding', () => {
    const factor = matrix.slice();
    expect(choleskyFactor(factor, n)).toBe(true);
    const x = rhs.slice();
    choleskySolve(factor, n, x);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(expected[i], 9);
  });

  it('reports a matrix that is not positive definite', () => {
    expect(choleskyFactor(Float64Array.of(1, 2, 2, 1), 2)).toBe(false);
    expect(choleskyFactor(Float64Array.of(0, 0, 0, 1), 2)).toBe(false);
  });
});

describe('conjugateGradient', () => {
  const apply = (p: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += matrix[i * n + j] * p[j];
      out[i] = sum;
    }
  };
  const diagonal = Float64Array.from({ length: n }, (_, i) => matrix[i * n + i]);

  it('converges to the solution from any start, within n steps up to rounding', () => {
    const x = new Float64Array(n).fill(3);
    const steps = conjugateGradient(apply, diagonal, rhs, x, { maxIterations: 5 * n, tolerance: 1e-12 });
    expect(steps).toBeLessThanOrEqual(2 * n);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(expected[i], 8);
  });

  it('lowers ½xᵀAx − bᵀx at every step and does nothing when the start already solves it', () => {
    const energy = (x: Float64Array) => {
      const product = new Float64Array(n);
      apply(x, product);
      return x.reduce((sum, value, i) => sum + 0.5 * value * product[i] - rhs[i] * value, 0);
    };
    let previous = energy(new Float64Array(n));
    for (let steps = 1; steps <= 6; steps++) {
      const x = new Float64Array(n);
      conjugateGradient(apply, diagonal, rhs, x, { maxIterations: steps, tolerance: 0 });
      const value = energy(x);
      expect(value).toBeLessThan(previous);
      previous = value;
    }
    const zero = new Float64Array(n);
    expect(conjugateGradient(apply, diagonal, new Float64Array(n), zero, { maxIterations: 10, tolerance: 1e-6 })).toBe(0);
    expect(zero).toEqual(new Float64Array(n));
  });
});
