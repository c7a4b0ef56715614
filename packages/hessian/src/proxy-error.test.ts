import { randomMatrix } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { proxyError } from './proxy-error';
import { randomSpd } from './test/test-matrices';

describe('proxyError', () => {
  it('is zero for equal weights', () => {
    const w = randomMatrix({ rows: 5, cols: 6, seed: 1 });
    expect(proxyError(w, { ...w, data: w.data.slice() }, { data: randomSpd(6, 2), size: 6 })).toBe(0);
  });

  it('matches a hand-computed example', () => {
    // ΔW = [0, -1]: ΔW H ΔWᵀ = 3; W H Wᵀ = 2 + 2·(2·1) + 4·3 = 18.
    const h = { data: new Float64Array([2, 1, 1, 3]), size: 2 };
    const w = { data: new Float32Array([1, 2]), rows: 1, cols: 2 };
    const q = { data: new Float32Array([1, 1]), rows: 1, cols: 2 };
    expect(proxyError(w, q, h)).toBeCloseTo(1 / 6, 15);
  });

  it('equals the reference mean((ΔWᵀΔW) ⊙ H) / mean((WᵀW) ⊙ H)', () => {
    const rows = 7;
    const cols = 5;
    const w = randomMatrix({ rows, cols, seed: 3 });
    const q = randomMatrix({ rows, cols, seed: 4, scale: 0.1 });
    for (let i = 0; i < q.data.length; i++) q.data[i] += w.data[i];
    const h = randomSpd(cols, 5);
    let numerator = 0;
    let denominator = 0;
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        let dd = 0;
        let ww = 0;
        for (let r = 0; r < rows; r++) {
          dd += (q.data[r * cols + i] - w.data[r * cols + i]) * (q.data[r * cols + j] - w.data[r * cols + j]);
          ww += w.data[r * cols + i] * w.data[r * cols + j];
        }
        numerator += dd * h[i * cols + j];
        denominator += ww * h[i * cols + j];
      }
    }
    expect(proxyError(w, q, { data: h, size: cols })).toBeCloseTo(numerator / denominator, 13);
  });

  it('handles an all-zero weight and rejects mismatched shapes', () => {
    const h = { data: new Float64Array([1, 0, 0, 1]), size: 2 };
    const zero = { data: new Float32Array(2), rows: 1, cols: 2 };
    expect(proxyError(zero, zero, h)).toBe(0);
    expect(proxyError(zero, { data: new Float32Array([1, 0]), rows: 1, cols: 2 }, h)).toBe(Infinity);
    expect(() => proxyError(zero, { data: new Float32Array(4), rows: 2, cols: 2 }, h)).toThrow(
      'proxyError: quantized must have the shape of weight (got [2, 2] and [1, 2])',
    );
    expect(() => proxyError({ data: new Float32Array(3), rows: 1, cols: 3 }, { data: new Float32Array(3), rows: 1, cols: 3 }, h)).toThrow(
      'proxyError: hessian.size must equal weight.cols (got 2 and 3)',
    );
  });
});
