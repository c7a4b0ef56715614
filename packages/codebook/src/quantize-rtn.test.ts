import { describe, expect, it } from 'vitest';

import { quantizeRtn } from './quantize-rtn';
import { randomWeight } from './test/random-layer';

describe('quantizeRtn', () => {
  it('rounds each row to its own min–max grid', () => {
    // Row 0 spans [−1, 2]: 2 bits give step 1 from −1. Row 1 spans [0.5, 3.5]: step 1 from 0.5.
    // Row 2 is constant and keeps its value exactly (step 1, code 0).
    const data = new Float32Array([-1, 0.4, 0.6, 2, 0.5, 1.4, 3.5, 1.6, 0.25, 0.25, 0.25, 0.25]);
    const result = quantizeRtn({ data, rows: 3, cols: 4 }, { bits: 2 });
    expect(Array.from(result.scale)).toEqual([1, 1, 1]);
    expect(Array.from(result.offset)).toEqual([-1, 0.5, 0.25]);
    expect(Array.from(result.weight)).toEqual([-1, 0, 1, 2, 0.5, 1.5, 3.5, 1.5, 0.25, 0.25, 0.25, 0.25]);
    expect(result.bits).toBe(2);
  });

  it('uses at most 2^bits distinct values per row and gets closer with more bits', () => {
    const weight = randomWeight(8, 64, 3);
    let previous = Infinity;
    for (const bits of [2, 3, 4, 8]) {
      const { weight: quantized } = quantizeRtn(weight, { bits });
      for (let row = 0; row < 8; row++) expect(new Set(quantized.subarray(row * 64, row * 64 + 64)).size).toBeLessThanOrEqual(2 ** bits);
      let error = 0;
      for (let i = 0; i < quantized.length; i++) error += (quantized[i] - weight.data[i]) ** 2;
      expect(error).toBeLessThan(previous);
      previous = error;
    }
  });

  it('rejects bad arguments', () => {
    const weight = randomWeight(2, 2, 1);
    expect(() => quantizeRtn(weight, { bits: 0 })).toThrow(/quantizeRtn: bits must be an integer between 1 and 16 \(got 0\)/);
    expect(() => quantizeRtn(weight, { bits: 2.5 })).toThrow(RangeError);
    expect(() => quantizeRtn({ ...weight, rows: 3 }, { bits: 2 })).toThrow(/weight.data must hold rows × cols values/);
    expect(() => quantizeRtn({ data: new Float32Array([1, Infinity]), rows: 1, cols: 2 }, { bits: 2 })).toThrow(
      /weight must be finite \(got Infinity at row 0, column 1\)/,
    );
  });
});
