import { randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { ropeCpu, ropeInverseFrequencies } from './rope-cpu';

describe('ropeCpu', () => {
  it('rotates the first pair by the position at frequency 1', () => {
    const values = new Float32Array([1, 0, 0, 0]);
    const interleaved = ropeCpu(values, { tokens: 1, heads: 1, headDim: 4 }, 3);
    expect(interleaved[0]).toBeCloseTo(Math.cos(3), 6);
    expect(interleaved[1]).toBeCloseTo(Math.sin(3), 6);
    const half = ropeCpu(values, { tokens: 1, heads: 1, headDim: 4, layout: 'half' }, 3);
    expect(half[0]).toBeCloseTo(Math.cos(3), 6);
    expect(half[2]).toBeCloseTo(Math.sin(3), 6);
  });

  it('uses θ^(-2i/d) frequencies', () => {
    expect([...ropeInverseFrequencies(4, 100)]).toEqual([1, Math.fround(0.1)]);
    expect(() => ropeInverseFrequencies(5)).toThrow(/headDim must be even \(got 5\)/);
  });

  it('rotates by given inverse frequencies instead of θ when shape.inverseFrequencies is set', () => {
    // Pair i of the half layout is (i, i + 2); each turns by position · frequency[i].
    const values = new Float32Array([1, 1, 0, 0]);
    const inverseFrequencies = new Float32Array([0.25, 0.003]);
    const out = ropeCpu(values, { tokens: 1, heads: 1, headDim: 4, layout: 'half', theta: 7, inverseFrequencies }, 10);
    const angles = [Math.fround(10 * inverseFrequencies[0]), Math.fround(10 * inverseFrequencies[1])];
    expect([...out]).toEqual([Math.cos(angles[0]), Math.cos(angles[1]), Math.sin(angles[0]), Math.sin(angles[1])].map(Math.fround));
    const shape = { tokens: 2, heads: 3, headDim: 8 };
    const random = randomFloats(48, 9);
    expect(ropeCpu(random, { ...shape, inverseFrequencies: ropeInverseFrequencies(8, 10000) }, 5)).toEqual(ropeCpu(random, shape, 5));
  });

  it('rejects inverse frequencies that do not fit headDim', () => {
    const shape = { tokens: 1, heads: 1, headDim: 4 };
    expect(() => ropeCpu(new Float32Array(4), { ...shape, inverseFrequencies: new Float32Array(3) })).toThrow(
      /shape\.inverseFrequencies must have 2 elements \(\[headDim \/ 2\]\) \(got 3\)/,
    );
    expect(() => ropeCpu(new Float32Array(4), { ...shape, inverseFrequencies: new Float32Array([1, Number.NaN]) })).toThrow(
      /shape\.inverseFrequencies must be finite \(got NaN at 1\)/,
    );
  });
});
