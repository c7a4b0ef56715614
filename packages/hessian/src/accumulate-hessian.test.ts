import { createTestRng, maxAbsDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { accumulateHessian } from './accumulate-hessian';
import { finalizeHessian } from './finalize-hessian';
import { createHessianAccumulator, hessianBlockTokens } from './hessian-accumulator';
import { mergeHessians } from './merge-hessians';

const columns = 37;
const tokens = 301; // not a multiple of the block, so a partial block stays pending
const x = randomFloats(tokens * columns, 11, 2);

function oneShot() {
  return finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
}

describe('accumulateHessian / finalizeHessian', () => {
  it('computes E[xxᵀ] and E[x] as a direct f64 sum does', () => {
    const result = oneShot();
    const expected = new Float64Array(columns * columns);
    const mean = new Float64Array(columns);
    for (let t = 0; t < tokens; t++) {
      for (let i = 0; i < columns; i++) {
        mean[i] += x[t * columns + i] / tokens;
        for (let j = 0; j < columns; j++) expected[i * columns + j] += (x[t * columns + i] * x[t * columns + j]) / tokens;
      }
    }
    expect(result.size).toBe(columns);
    expect(result.tokens).toBe(tokens);
    expect(maxAbsDifference(result.data, expected)).toBeLessThan(1e-13);
    expect(maxAbsDifference(result.mean, mean)).toBeLessThan(1e-14);
    for (let i = 0; i < columns; i++) {
      for (let j = 0; j < columns; j++) expect(result.data[i * columns + j]).toBe(result.data[j * columns + i]);
    }
  });

  it('gives bit-identical results however the tokens are split into batches', () => {
    const reference = oneShot();
    const next = createTestRng(5);
    for (let trial = 0; trial < 3; trial++) {
      const accumulator = createHessianAccumulator(columns);
      for (let start = 0; start < tokens; ) {
        const batch = Math.min(tokens - start, 1 + Math.floor(next() * 90));
        accumulateHessian(accumulator, x.subarray(start * columns, (start + batch) * columns), batch);
        start += batch;
      }
      const result = finalizeHessian(accumulator);
      expect(Buffer.from(result.data.buffer).equals(Buffer.from(reference.data.buffer))).toBe(true);
      expect(Buffer.from(result.mean.buffer).equals(Buffer.from(reference.mean.buffer))).toBe(true);
    }
  });

  it('accepts f64 input and empty batches', () => {
    const accumulator = createHessianAccumulator(columns);
    accumulateHessian(accumulator, new Float64Array(0), 0);
    accumulateHessian(accumulator, Float64Array.from(x), tokens);
    expect(finalizeHessian(accumulator).data).toEqual(oneShot().data);
  });

  it('does not change the accumulator when finalizing, so accumulation can continue', () => {
    const accumulator = createHessianAccumulator(columns);
    const half = 150;
    accumulateHessian(accumulator, x.subarray(0, half * columns), half);
    const before = structuredClone(accumulator);
    const partial = finalizeHessian(accumulator);
    expect(accumulator).toEqual(before);
    expect(partial.tokens).toBe(half);
    accumulateHessian(accumulator, x.subarray(half * columns), tokens - half);
    expect(finalizeHessian(accumulator).data).toEqual(oneShot().data);
  });

  it('rejects bad input', () => {
    const accumulator = createHessianAccumulator(3);
    expect(() => accumulateHessian(accumulator, new Float32Array(5), 2)).toThrow(
      'accumulateHessian: x must hold tokens × columns values (got 5, expected 2 × 3)',
    );
    expect(() => accumulateHessian(accumulator, new Float32Array([1, 2, Number.NaN]), 1)).toThrow(
      'accumulateHessian: x must be finite (got NaN at token 0, column 2)',
    );
    expect(() => accumulateHessian(accumulator, [1, 2, 3] as unknown as Float32Array, 1)).toThrow(TypeError);
    expect(() => accumulateHessian(accumulator, new Float32Array(3), -1)).toThrow(RangeError);
    expect(() => createHessianAccumulator(0)).toThrow('createHessianAccumulator: columns must be a positive integer (got 0)');
    expect(() => finalizeHessian(createHessianAccumulator(2))).toThrow(
      'finalizeHessian: accumulator must hold at least one token (got 0)',
    );
    expect(accumulator.tokens).toBe(0);
  });
});

describe('mergeHessians', () => {
  it('equals sequential accumulation over the concatenated tokens', () => {
    const split = 2 * hessianBlockTokens + 5;
    const first = accumulateHessian(createHessianAccumulator(columns), x.subarray(0, split * columns), split);
    const second = accumulateHessian(createHessianAccumulator(columns), x.subarray(split * columns), tokens - split);
    const secondBefore = structuredClone(second);
    const merged = mergeHessians(first, second);
    expect(merged).toBe(first);
    expect(second).toEqual(secondBefore);
    expect(merged.tokens).toBe(tokens);
    const result = finalizeHessian(merged);
    const reference = oneShot();
    expect(maxAbsDifference(result.data, reference.data)).toBeLessThan(1e-14);
    expect(maxAbsDifference(result.mean, reference.mean)).toBeLessThan(1e-15);
  });

  it('merges into an empty accumulator', () => {
    const source = accumulateHessian(createHessianAccumulator(columns), x, tokens);
    const merged = mergeHessians(createHessianAccumulator(columns), source);
    expect(maxAbsDifference(finalizeHessian(merged).data, oneShot().data)).toBeLessThan(1e-14);
  });

  it('rejects different widths and self-merges', () => {
    const a = createHessianAccumulator(3);
    expect(() => mergeHessians(a, createHessianAccumulator(4))).toThrow(
      'mergeHessians: target and source must have the same columns (got 3 and 4)',
    );
    expect(() => mergeHessians(a, a)).toThrow(RangeError);
    expect(() => mergeHessians(a, { columns: 3 } as never)).toThrow(TypeError);
  });
});
