import { maxAbsDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { matmulTransposed } from './matmul-transposed';

function reference(input: Float32Array, weight: Float32Array, tokens: number, inFeatures: number, outFeatures: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(tokens * outFeatures);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inFeatures; i++) sum += input[t * inFeatures + i] * weight[o * inFeatures + i];
      out[t * outFeatures + o] = sum;
    }
  }
  return out;
}

describe('matmulTransposed', () => {
  it('matches a plain triple loop for every tile remainder of tokens and rows', () => {
    let seed = 10;
    for (const tokens of [1, 2, 3, 4, 5, 7, 8, 13]) {
      for (const outFeatures of [1, 3, 4, 5, 9]) {
        const inFeatures = 11;
        const input = randomFloats(tokens * inFeatures, seed++);
        const weight = randomFloats(outFeatures * inFeatures, seed++);
        const got = matmulTransposed(input, weight, { tokens, inFeatures, outFeatures });
        expect(got).toBeInstanceOf(Float32Array);
        expect(got.length).toBe(tokens * outFeatures);
        expect(maxAbsDifference(got, reference(input, weight, tokens, inFeatures, outFeatures))).toBeLessThan(1e-6);
      }
    }
  });

  it('adds the bias to every row', () => {
    const [tokens, inFeatures, outFeatures] = [6, 16, 10];
    const input = randomFloats(tokens * inFeatures, 1);
    const weight = randomFloats(outFeatures * inFeatures, 2);
    const bias = randomFloats(outFeatures, 3);
    const got = matmulTransposed(input, weight, { tokens, inFeatures, outFeatures, bias });
    expect(maxAbsDifference(got, reference(input, weight, tokens, inFeatures, outFeatures, bias))).toBeLessThan(1e-6);
    const withoutBias = matmulTransposed(input, weight, { tokens, inFeatures, outFeatures });
    expect(got[outFeatures * 5 + 7] - withoutBias[outFeatures * 5 + 7]).toBeCloseTo(bias[7], 6);
  });

  it('rejects arrays that disagree with the shape', () => {
    const input = randomFloats(12, 1);
    const weight = randomFloats(8, 2);
    expect(() => matmulTransposed(input, weight, { tokens: 3, inFeatures: 4, outFeatures: 3 })).toThrow(
      /weight must hold outFeatures × inFeatures values \(got 8, expected 3 × 4\)/,
    );
    expect(() => matmulTransposed(input, weight, { tokens: 2, inFeatures: 4, outFeatures: 2 })).toThrow(/input must hold/);
    expect(() => matmulTransposed(input, weight, { tokens: 0, inFeatures: 4, outFeatures: 2 })).toThrow(
      /tokens must be a positive integer \(got 0\)/,
    );
    expect(() =>
      matmulTransposed(input, weight, { tokens: 3, inFeatures: 4, outFeatures: 2, bias: new Float32Array(3) }),
    ).toThrow(/bias must hold outFeatures values \(got 3, expected 2\)/);
  });
});
