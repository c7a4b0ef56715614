import { randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { createDenseLinear } from './dense-linear';
import { matmulTransposed } from './matmul-transposed';

describe('createDenseLinear', () => {
  it('applies its weight and bias to a window of tokens', () => {
    const weight = randomFloats(5 * 7, 1);
    const bias = randomFloats(5, 2);
    const linear = createDenseLinear(weight, { outFeatures: 5, inFeatures: 7, bias });
    expect(linear).toMatchObject({ kind: 'dense', inFeatures: 7, outFeatures: 5 });
    expect(linear.weight).toBe(weight);
    const input = randomFloats(3 * 7, 3);
    expect(linear.forward(input, 3)).toEqual(matmulTransposed(input, weight, { tokens: 3, inFeatures: 7, outFeatures: 5, bias }));
  });

  it('rejects a weight or bias of the wrong size', () => {
    expect(() => createDenseLinear(new Float32Array(10), { outFeatures: 3, inFeatures: 4 })).toThrow(
      /weight must be a Float32Array of outFeatures × inFeatures values \(got Float32Array of 10, expected 3 × 4\)/,
    );
    expect(() => createDenseLinear(new Float32Array(12), { outFeatures: 3, inFeatures: 4, bias: new Float32Array(4) })).toThrow(
      /bias must be a Float32Array of outFeatures values \(got Float32Array of 4, expected 3\)/,
    );
    expect(() => createDenseLinear(new Float32Array(0), { outFeatures: 0, inFeatures: 4 })).toThrow(RangeError);
  });
});
