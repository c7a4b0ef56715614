import { describe, expect, it } from 'vitest';

import { createRandom } from './create-random';
import { randomPermutation } from './random-permutation';

describe('randomPermutation', () => {
  it('is a permutation, the same for the same seed and another for another seed', () => {
    const first = randomPermutation(1000, createRandom(3));
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(randomPermutation(1000, createRandom(3))).toEqual(first);
    expect(randomPermutation(1000, createRandom(4))).not.toEqual(first);
    expect(randomPermutation(0, createRandom(3))).toEqual(new Uint32Array(0));
  });

  it('is uniform: every element lands in every position about equally often', () => {
    const random = createRandom(9);
    const counts = new Uint32Array(16);
    for (let trial = 0; trial < 16000; trial++) counts[randomPermutation(4, random)[0] * 4 + randomPermutation(4, random)[3]]++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });

  it('rejects a bad count', () => {
    expect(() => randomPermutation(-1, createRandom(0))).toThrow(/count must be a non-negative integer/);
  });
});
