import { maxRelativeDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { rmsNorm } from './rms-norm';

describe('rmsNorm', () => {
  it('divides every row by its root mean square and applies the gain', () => {
    const size = 9;
    const rows = 4;
    const input = randomFloats(rows * size, 1, 3);
    const weight = randomFloats(size, 2);
    const eps = 1e-5;
    const expected = new Float64Array(rows * size);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(input.subarray(r * size, (r + 1) * size));
      const rms = Math.sqrt(row.reduce((sum, value) => sum + value * value, 0) / size + eps);
      row.forEach((value, i) => (expected[r * size + i] = (value / rms) * weight[i]));
    }
    expect(maxRelativeDifference(rmsNorm(input, weight, eps), expected)).toBeLessThan(1e-6);
  });

  it('gives rows of unit root mean square with a unit gain, whatever their scale', () => {
    const input = randomFloats(16, 3, 100);
    const out = rmsNorm(input, new Float32Array(16).fill(1), 0);
    const meanSquare = out.reduce((sum, value) => sum + value * value, 0) / 16;
    expect(meanSquare).toBeCloseTo(1, 5);
  });

  it('lets eps dominate for tiny rows', () => {
    const input = new Float32Array([1e-4, -1e-4]);
    const out = rmsNorm(input, new Float32Array([1, 1]), 1);
    expect(out[0]).toBeCloseTo(1e-4, 8);
  });

  it('rejects an input that is not whole rows and a negative eps', () => {
    expect(() => rmsNorm(new Float32Array(10), new Float32Array(4), 1e-5)).toThrow(
      /input length must be a multiple of the weight length \(got 10 and 4\)/,
    );
    expect(() => rmsNorm(new Float32Array(4), new Float32Array(4), -1)).toThrow(/eps must be a finite number ≥ 0 \(got -1\)/);
  });
});
