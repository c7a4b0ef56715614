import { maxAbsDifference } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { choleskyInverse } from './cholesky-inverse';
import { choleskyLower } from './cholesky-lower';
import { HessianError } from './hessian-error';
import { identity, multiply, randomSpd, transpose } from './test/test-matrices';
import { upperCholeskyOfInverse } from './upper-cholesky-of-inverse';

describe.each([1, 2, 7, 40])('Cholesky helpers on a random SPD matrix of size %i', (size) => {
  const a = randomSpd(size, 100 + size);

  it('choleskyLower gives a lower factor with a positive diagonal and L·Lᵀ = A', () => {
    const { data: lower, size: n } = choleskyLower({ data: a, size });
    expect(n).toBe(size);
    for (let i = 0; i < size; i++) {
      expect(lower[i * size + i]).toBeGreaterThan(0);
      for (let j = i + 1; j < size; j++) expect(lower[i * size + j]).toBe(0);
    }
    expect(maxAbsDifference(multiply(lower, transpose(lower, size), size), a)).toBeLessThan(1e-13);
  });

  it('choleskyInverse gives A⁻¹ with A⁻¹·A = I', () => {
    const inverse = choleskyInverse(choleskyLower({ data: a, size })).data;
    expect(maxAbsDifference(multiply(inverse, a, size), identity(size))).toBeLessThan(1e-11);
    expect(maxAbsDifference(inverse, transpose(inverse, size))).toBe(0);
  });

  it('upperCholeskyOfInverse gives an upper U with UᵀU·A = I', () => {
    const { data: upper } = upperCholeskyOfInverse({ data: a, size });
    for (let i = 0; i < size; i++) {
      expect(upper[i * size + i]).toBeGreaterThan(0);
      for (let j = 0; j < i; j++) expect(upper[i * size + j]).toBe(0);
    }
    const product = multiply(multiply(transpose(upper, size), upper, size), a, size);
    expect(maxAbsDifference(product, identity(size))).toBeLessThan(1e-11);
  });
});

describe('Cholesky helpers on bad input', () => {
  it('reports the first non-positive pivot of an indefinite matrix', () => {
    // Eigenvalues 3 and -1: the second pivot is 1 - 4 = -3.
    const indefinite = { data: new Float64Array([1, 2, 2, 1]), size: 2 };
    const error = (() => {
      try {
        choleskyLower(indefinite);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(HessianError);
    expect(error).toMatchObject({ code: 'VPTQ_HESSIAN_NOT_PD', pivot: 1, value: -3, name: 'HessianError' });
    expect((error as Error).message).toBe('choleskyLower: matrix is not positive definite (pivot 1 = -3)');
    expect(() => upperCholeskyOfInverse(indefinite)).toThrow(HessianError);
  });

  it('rejects non-finite entries and malformed matrices', () => {
    expect(() => choleskyLower({ data: new Float64Array([1, 0, Number.NaN, 1]), size: 2 })).toThrow(
      expect.objectContaining({ code: 'VPTQ_HESSIAN_NOT_FINITE' }),
    );
    expect(() => choleskyLower({ data: new Float64Array(3), size: 2 })).toThrow(
      'choleskyLower: matrix.data must hold size × size values (got 3, expected 2 × 2)',
    );
    expect(() => choleskyLower({ data: new Float32Array(4), size: 2 } as never)).toThrow(TypeError);
    expect(() => choleskyInverse({ data: new Float64Array([1, 0, 0, 0]), size: 2 })).toThrow(
      'choleskyInverse: lower must have a finite non-zero diagonal (got 0 at 1)',
    );
  });
});
