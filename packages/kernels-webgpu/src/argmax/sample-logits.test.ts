import { describe, expect, it } from 'vitest';

import { sampleLogits } from './sample-logits';

describe('sampleLogits', () => {
  const logits = new Float32Array([0, Math.log(3), Math.log(6)]); // probabilities 0.1, 0.3, 0.6

  it('is greedy at temperature 0', () => {
    expect(sampleLogits(logits, { temperature: 0, random: 0.99 })).toBe(2);
  });

  it('samples by inverse CDF over tokens sorted by probability', () => {
    expect(sampleLogits(logits, { random: 0.59 })).toBe(2);
    expect(sampleLogits(logits, { random: 0.61 })).toBe(1);
    expect(sampleLogits(logits, { random: 0.95 })).toBe(0);
  });

  it('keeps only the top-p nucleus', () => {
    // topP 0.8: {2, 1} hold 0.9 ≥ 0.8, so token 0 is dropped and the draw is rescaled to 0.9.
    expect(sampleLogits(logits, { topP: 0.8, random: 0.95 })).toBe(1);
    expect(sampleLogits(logits, { topP: 0.5, random: 0.95 })).toBe(2);
  });

  it('rejects a draw outside [0, 1)', () => {
    expect(() => sampleLogits(logits, { random: 1 })).toThrow(/random must be in \[0, 1\) \(got 1\)/);
  });
});
