import { randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { accumulateHessian } from './accumulate-hessian';
import { finalizeHessian } from './finalize-hessian';
import { createHessianAccumulator, hessianBlockTokens } from './hessian-accumulator';
import { hessianAccumulatorFromSums } from './hessian-accumulator-from-sums';
import { mergeHessians } from './merge-hessians';

const columns = 13;
const tokens = 3 * hessianBlockTokens + 29; // three whole blocks and a partial one
const x = randomFloats(tokens * columns, 21, 1.5);
const summedTokens = 3 * hessianBlockTokens;

/** The sums of the first `summedTokens` tokens, as another engine that sums whole blocks would hand them over. */
function engineSums() {
  const accumulator = accumulateHessian(createHessianAccumulator(columns), x.subarray(0, summedTokens * columns), summedTokens);
  return { columns, sumOuter: accumulator.sumOuter, sum: accumulator.sum, tokens: summedTokens };
}

describe('hessianAccumulatorFromSums', () => {
  it('finalizes to the bytes of the CPU accumulator when the sums and the pending tokens are the same', () => {
    const reference = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
    const fromSums = hessianAccumulatorFromSums({ ...engineSums(), pending: x.subarray(summedTokens * columns) });
    expect(fromSums.tokens).toBe(tokens);
    expect(fromSums.pendingTokens).toBe(tokens - summedTokens);
    const result = finalizeHessian(fromSums);
    expect(result.tokens).toBe(tokens);
    expect(new Uint8Array(result.data.buffer)).toEqual(new Uint8Array(reference.data.buffer));
    expect(new Uint8Array(result.mean.buffer)).toEqual(new Uint8Array(reference.mean.buffer));
  });

  it('copies the sums and keeps accumulating, merging and finalizing like any accumulator', () => {
    const sums = engineSums();
    const before = sums.sumOuter.slice();
    const fromSums = hessianAccumulatorFromSums(sums);
    expect(fromSums.sumOuter).not.toBe(sums.sumOuter);
    accumulateHessian(fromSums, x.subarray(summedTokens * columns), tokens - summedTokens);
    expect(sums.sumOuter).toEqual(before);
    const reference = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
    expect(finalizeHessian(fromSums).data).toEqual(reference.data);

    const doubled = mergeHessians(hessianAccumulatorFromSums(engineSums()), hessianAccumulatorFromSums(engineSums()));
    expect(doubled.tokens).toBe(2 * summedTokens);
    expect(finalizeHessian(doubled).data).toEqual(finalizeHessian(hessianAccumulatorFromSums(engineSums())).data);
  });

  it('reads only the upper triangle of sumOuter', () => {
    const sums = engineSums();
    const scribbled = sums.sumOuter.slice();
    for (let i = 1; i < columns; i++) for (let j = 0; j < i; j++) scribbled[i * columns + j] = Number.NaN;
    expect(finalizeHessian(hessianAccumulatorFromSums({ ...sums, sumOuter: scribbled })).data).toEqual(
      finalizeHessian(hessianAccumulatorFromSums(sums)).data,
    );
  });

  it('accepts sums of zero tokens with only pending ones, and a pending block longer than one block', () => {
    const zero = { columns, sumOuter: new Float64Array(columns * columns), sum: new Float64Array(columns), tokens: 0 };
    const reference = finalizeHessian(accumulateHessian(createHessianAccumulator(columns), x, tokens));
    expect(finalizeHessian(hessianAccumulatorFromSums({ ...zero, pending: x })).data).toEqual(reference.data);
    expect(() => finalizeHessian(hessianAccumulatorFromSums(zero))).toThrow(/at least one token/);
  });

  it('rejects sums of the wrong width, type or count, and non-finite values', () => {
    const sums = engineSums();
    expect(() => hessianAccumulatorFromSums({ ...sums, columns: 0 })).toThrow(/sums.columns must be a positive integer \(got 0\)/);
    expect(() => hessianAccumulatorFromSums({ ...sums, columns: columns + 1 })).toThrow(
      /sums.sumOuter must hold columns × columns values \(got 169, expected 14 × 14\)/,
    );
    expect(() => hessianAccumulatorFromSums({ ...sums, sum: new Float64Array(columns - 1) })).toThrow(
      /sums.sum must hold columns values \(got 12, expected 13\)/,
    );
    expect(() => hessianAccumulatorFromSums({ ...sums, sumOuter: new Float32Array(columns * columns) as unknown as Float64Array })).toThrow(
      TypeError,
    );
    expect(() => hessianAccumulatorFromSums({ ...sums, tokens: -1 })).toThrow(/sums.tokens must be a non-negative integer \(got -1\)/);
    expect(() => hessianAccumulatorFromSums({ ...sums, pending: new Float32Array(columns + 1) })).toThrow(
      /sums.pending must hold whole tokens of columns values \(got 14 values for 13 columns\)/,
    );
    const infinite = sums.sumOuter.slice();
    infinite[2 * columns + 5] = Number.POSITIVE_INFINITY;
    expect(() => hessianAccumulatorFromSums({ ...sums, sumOuter: infinite })).toThrow(
      /sums.sumOuter must be finite \(got Infinity at row 2, column 5\)/,
    );
    const nan = sums.sum.slice();
    nan[3] = Number.NaN;
    expect(() => hessianAccumulatorFromSums({ ...sums, sum: nan })).toThrow(/sums.sum must be finite \(got NaN at column 3\)/);
    expect(() => hessianAccumulatorFromSums({ ...sums, pending: new Float32Array(columns).fill(Number.NaN) })).toThrow(/x must be finite/);
  });
});
