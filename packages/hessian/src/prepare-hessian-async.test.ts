import { rejection } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { HessianError } from './hessian-error';
import { prepareHessian } from './prepare-hessian';
import { prepareHessianAsync } from './prepare-hessian-async';
import type { SquareMatrix } from './square-matrix';
import { randomSpd } from './test/test-matrices';
import { upperCholeskyOfInverse } from './upper-cholesky-of-inverse';

// Columns 0 and 2 form [[0.5, 0.95], [0.95, 1.5]] after normalization: not positive definite at 2% damping,
// positive definite at the first retry (as in prepare-hessian.test.ts).
const indefinite = { data: new Float64Array([1, 0, 1.9, 0, 2, 0, 1.9, 0, 3]), size: 3 };

describe('prepareHessianAsync', () => {
  it('returns exactly what prepareHessian returns when factorize is left out', async () => {
    const h = randomSpd(24, 9);
    h.fill(0, 5 * 24, 6 * 24);
    for (let i = 0; i < 24; i++) h[i * 24 + 5] = 0; // a dead column
    const options = { damp: 0.02, inverseDamp: 0.05 };
    expect(await prepareHessianAsync({ data: h, size: 24 }, options)).toEqual(prepareHessian({ data: h, size: 24 }, options));
    const f32 = { data: Float32Array.from(randomSpd(7, 2)), size: 7 };
    expect(await prepareHessianAsync(f32, { order: 'identity' })).toEqual(prepareHessian(f32, { order: 'identity' }));
  });

  it('fails and retries a matrix that is not positive definite exactly as prepareHessian does', async () => {
    const error = await rejection(prepareHessianAsync(indefinite));
    expect(error).toBeInstanceOf(HessianError);
    expect(error).toMatchObject({ code: 'VPTQ_HESSIAN_NOT_PD', pivot: 2, column: 0 });
    expect(error.message.replace('prepareHessianAsync', 'prepareHessian')).toBe(
      (() => {
        try {
          prepareHessian(indefinite);
        } catch (caught) {
          return (caught as Error).message;
        }
      })(),
    );
    expect(await prepareHessianAsync(indefinite, { dampingRetries: 3 })).toEqual(prepareHessian(indefinite, { dampingRetries: 3 }));
  });

  it('hands factorize the damped, permuted matrix and uses the factor it returns', async () => {
    const size = 12;
    const calls: SquareMatrix[] = [];
    const prepared = await prepareHessianAsync(
      { data: randomSpd(size, 5), size },
      {
        inverseDamp: 0.03,
        factorize: async (matrix) => {
          calls.push({ data: matrix.data.slice(), size: matrix.size });
          return upperCholeskyOfInverse(matrix).data;
        },
      },
    );
    expect(calls).toHaveLength(1);
    const mean = prepared.diagonal.reduce((sum, value) => sum + value, 0) / size;
    const expected = prepared.hessian.slice();
    for (let p = 0; p < size; p++) expected[p * size + p] += 0.03 * mean;
    expect(calls[0]).toEqual({ data: expected, size });
    expect(prepared.inverseCholesky).toEqual(upperCholeskyOfInverse({ data: expected, size }).data);
  });

  it('treats any rejection with code VPTQ_HESSIAN_NOT_PD as not positive definite: retries, then names the column', async () => {
    const size = 6;
    const h = { data: randomSpd(size, 3), size };
    const dampings: number[] = [];
    // A factorization that reports the trailing block from position 4 on as not positive definite, as a GPU one may.
    const notPd = Object.assign(new Error('gpu: not positive definite'), { code: 'VPTQ_HESSIAN_NOT_PD', pivot: 4, value: -0.5 });
    const failing = async (matrix: SquareMatrix): Promise<Float64Array> => {
      dampings.push(matrix.data[0]);
      throw notPd;
    };
    const error = await rejection(prepareHessianAsync(h, { factorize: failing, dampingRetries: 2 }));
    expect(dampings).toHaveLength(3);
    expect(dampings[1]).toBeGreaterThan(dampings[0]);
    const prepared = prepareHessian(h);
    expect(error).toBeInstanceOf(HessianError);
    expect(error).toMatchObject({ code: 'VPTQ_HESSIAN_NOT_PD', pivot: 4, column: prepared.perm[4], value: -0.5, cause: notPd });
    expect(error.message).toMatch(/^prepareHessianAsync: hessian is not positive definite after damping \(pivot at position 4, original column \d, value -0\.5; damp = 0\.01, inverseDamp = 1\)/);

    let attempts = 0;
    const second = await prepareHessianAsync(h, {
      dampingRetries: 1,
      factorize: async (matrix) => {
        if (attempts++ === 0) throw notPd;
        return upperCholeskyOfInverse(matrix).data;
      },
    });
    expect(second).toEqual({ ...prepareHessian(h, { inverseDamp: 0.1 }), retries: 1 });
  });

  it('passes other rejections on and checks what factorize returns', async () => {
    const h = { data: randomSpd(4, 1), size: 4 };
    const lost = Object.assign(new Error('device lost'), { code: 'VPTQ_GPU_DEVICE_LOST' });
    expect(await rejection(prepareHessianAsync(h, { factorize: async () => Promise.reject(lost) }))).toBe(lost);
    await expect(prepareHessianAsync(h, { factorize: async () => new Float32Array(16) as never })).rejects.toThrow(
      'prepareHessianAsync: the factorization must return a Float64Array (got Float32Array)',
    );
    await expect(prepareHessianAsync(h, { factorize: async () => new Float64Array(9) })).rejects.toThrow(
      'prepareHessianAsync: the factorization must return size × size values (got 9, expected 4 × 4)',
    );
    const badDiagonal = upperCholeskyOfInverse({ data: prepareHessian(h).hessian, size: 4 }).data;
    badDiagonal[2 * 4 + 2] = Number.NaN;
    await expect(prepareHessianAsync(h, { factorize: async () => badDiagonal })).rejects.toThrow(
      'prepareHessianAsync: the factorization returned a diagonal that is not finite and positive (got NaN at position 2)',
    );
    await expect(prepareHessianAsync(h, { factorize: 'gpu' as never })).rejects.toThrow(
      'prepareHessianAsync: factorize must be a function (got "gpu")',
    );
    await expect(prepareHessianAsync(h, { damp: -1 })).rejects.toThrow('prepareHessianAsync: damp must be a finite number ≥ 0 (got -1)');
  });
});
