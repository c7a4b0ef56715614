import { maxAbsDifference } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { HessianError } from './hessian-error';
import { prepareHessian } from './prepare-hessian';
import type { HessianInput } from './prepare-hessian-steps';
import { identity, multiply, randomSpd, transpose } from './test/test-matrices';

function catchError(run: () => unknown): HessianError {
  try {
    run();
  } catch (error) {
    if (error instanceof HessianError) return error;
    throw error;
  }
  throw new Error('expected a HessianError');
}

describe('prepareHessian', () => {
  it('normalizes, damps, orders by decreasing diagonal (ties by index) and permutes', () => {
    // diag = 2, 8, 2, 4 → mean 4; off-diagonal entries follow their columns through the permutation.
    const h = new Float64Array([
      2, 0.1, 0.2, 0.3,
      0.1, 8, 0.4, 0.5,
      0.2, 0.4, 2, 0.6,
      0.3, 0.5, 0.6, 4,
    ]);
    const prepared = prepareHessian({ data: h, size: 4 });
    expect([...prepared.perm]).toEqual([1, 3, 0, 2]);
    expect([...prepared.invPerm]).toEqual([2, 0, 3, 1]);
    expect(prepared.scale).toBe(4);
    expect(prepared.deadColumns).toEqual([]);
    expect([...prepared.diagonal]).toEqual([2.01, 1.01, 0.51, 0.51]);
    for (let p = 0; p < 4; p++) {
      for (let q = 0; q < 4; q++) {
        const expected = h[prepared.perm[p] * 4 + prepared.perm[q]] / 4 + (p === q ? 0.01 : 0);
        expect(prepared.hessian[p * 4 + q]).toBeCloseTo(expected, 15);
      }
    }
    expect(prepared).toMatchObject({ damp: 0.01, inverseDamp: 0.01, retries: 0, size: 4 });
  });

  it('keeps the original order with order: identity', () => {
    const prepared = prepareHessian({ data: randomSpd(6, 3), size: 6 }, { order: 'identity' });
    expect([...prepared.perm]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('returns U in permuted order with UᵀU = (H_perm + second damping)⁻¹', () => {
    const size = 24;
    const prepared = prepareHessian({ data: randomSpd(size, 9), size }, { damp: 0.02, inverseDamp: 0.05 });
    expect(prepared.perm).not.toEqual(Uint32Array.from({ length: size }, (_, i) => i));
    const mean = prepared.diagonal.reduce((sum, value) => sum + value, 0) / size;
    const damped = prepared.hessian.slice();
    for (let p = 0; p < size; p++) damped[p * size + p] += 0.05 * mean;
    const u = prepared.inverseCholesky;
    for (let i = 0; i < size; i++) for (let j = 0; j < i; j++) expect(u[i * size + j]).toBe(0);
    const product = multiply(multiply(transpose(u, size), u, size), damped, size);
    expect(maxAbsDifference(product, identity(size))).toBeLessThan(1e-11);
  });

  it('reports dead columns, gives them a unit diagonal and orders them last', () => {
    const h = new Float64Array([
      4, 0, 1,
      0, 0, 0,
      1, 0, 2,
    ]);
    const prepared = prepareHessian({ data: h, size: 3 }, { damp: 0 });
    expect(prepared.deadColumns).toEqual([1]);
    expect([...prepared.perm]).toEqual([0, 2, 1]);
    expect(prepared.scale).toBe(2);
    expect([...prepared.diagonal]).toEqual([2, 1, 1]);
    expect(prepared.hessian[2 * 3 + 0]).toBe(0);
    expect(prepared.inverseCholesky.every(Number.isFinite)).toBe(true);
  });

  it('names the failing column of a non-positive-definite matrix, and can retry with more damping', () => {
    // Columns 0 and 2 form [[0.5, 0.95], [0.95, 1.5]] after normalization (eigenvalue ≈ -0.074): column 0
    // comes last in the order, and the default 2% damping is not enough.
    const h = { data: new Float64Array([1, 0, 1.9, 0, 2, 0, 1.9, 0, 3]), size: 3 };
    const error = catchError(() => prepareHessian(h));
    expect(error.code).toBe('VPTQ_HESSIAN_NOT_PD');
    expect(error.pivot).toBe(2);
    expect(error.column).toBe(0);
    expect(error.message).toMatch(/^prepareHessian: hessian is not positive definite after damping \(pivot at position 2, original column 0/);

    const retried = prepareHessian(h, { dampingRetries: 3 });
    expect(retried.retries).toBe(1);
    expect(retried.inverseDamp).toBeCloseTo(0.1, 15);
  });

  it('gives every entry the arithmetic of the plain definition, across 64 × 64 tiles, in f32 and f64', () => {
    // 150 columns span three tiles with a partial last one; f32 rounding makes the input slightly asymmetric; one
    // dead column. Expected: mean of the pair, divided by the mean diagonal, dead row/column cleared, damp, permuted.
    const size = 150;
    const spd = randomSpd(size, 7);
    const dead = 41;
    for (let j = 0; j < size; j++) {
      spd[dead * size + j] = 0;
      spd[j * size + dead] = 0;
    }
    for (const input of [spd, Float32Array.from(spd, (value, index) => value * (1 + ((index % 3) - 1) * 2 ** -25))]) {
      const prepared = prepareHessian({ data: input, size } as HessianInput, { damp: 0.03 });
      let scale = 0;
      for (let i = 0; i < size; i++) scale += input[i * size + i];
      scale /= size;
      const plain = new Float64Array(size * size);
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) plain[i * size + j] = i === j ? input[i * size + i] / scale : (input[i * size + j] + input[j * size + i]) / 2 / scale;
      }
      for (let j = 0; j < size; j++) plain[dead * size + j] = plain[j * size + dead] = 0;
      plain[dead * size + dead] = 1;
      for (let i = 0; i < size; i++) plain[i * size + i] += 0.03;
      expect(prepared.deadColumns).toEqual([dead]);
      expect(prepared.perm[size - 1]).toBe(dead);
      let mismatches = 0;
      for (let p = 0; p < size; p++) {
        for (let q = 0; q < size; q++) if (prepared.hessian[p * size + q] !== plain[prepared.perm[p] * size + prepared.perm[q]]) mismatches++;
        if (prepared.diagonal[p] !== plain[prepared.perm[p] * (size + 1)]) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });

  it('rejects non-finite, asymmetric and all-zero matrices and bad options', () => {
    expect(catchError(() => prepareHessian({ data: new Float64Array([1, Number.NaN, Number.NaN, 1]), size: 2 })).code).toBe(
      'VPTQ_HESSIAN_NOT_FINITE',
    );
    expect(catchError(() => prepareHessian({ data: new Float64Array([1, 0.5, 0.4, 1]), size: 2 })).message).toBe(
      'prepareHessian: hessian must be symmetric (got H[0, 1] = 0.5 and H[1, 0] = 0.4)',
    );
    expect(catchError(() => prepareHessian({ data: new Float64Array(4), size: 2 })).code).toBe('VPTQ_HESSIAN_ZERO');
    expect(() => prepareHessian({ data: new Float64Array([1, 0, 0, 1]), size: 2 }, { damp: -1 })).toThrow(
      'prepareHessian: damp must be a finite number ≥ 0 (got -1)',
    );
    expect(() => prepareHessian({ data: new Float64Array([1]), size: 1 }, { order: 'random' as never })).toThrow(RangeError);
    expect(() => prepareHessian({ data: new Float64Array([1]), size: 1 }, { dampingRetries: 0.5 })).toThrow(RangeError);
  });

  it('accepts f32 input and does not modify it', () => {
    const h = Float32Array.from(randomSpd(5, 4));
    const copy = h.slice();
    const prepared = prepareHessian({ data: h, size: 5 });
    expect(h).toEqual(copy);
    expect(prepared.hessian).toBeInstanceOf(Float64Array);
  });
});
