import { maxAbsDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { causalAttention } from './causal-attention';

/** Attention as written in the papers: repeat kv heads, mask future positions, softmax, weighted sum. */
function reference(
  query: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  tokens: number,
  start: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  window = Infinity,
): Float64Array {
  const out = new Float64Array(tokens * heads * headDim);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor((h * kvHeads) / heads);
      const scores: number[] = [];
      for (let p = 0; p < start + tokens; p++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) {
          dot += query[(t * heads + h) * headDim + i] * keys[(p * kvHeads + kv) * headDim + i];
        }
        // transformers' masks: causal kv ≤ q, and the sliding-window overlay kv > q − window.
        scores.push(p <= start + t && p > start + t - window ? dot / Math.sqrt(headDim) : -Infinity);
      }
      const exps = scores.map((score) => Math.exp(score));
      const total = exps.reduce((sum, value) => sum + value, 0);
      for (let i = 0; i < headDim; i++) {
        let sum = 0;
        for (let p = 0; p < scores.length; p++) sum += (exps[p] / total) * values[(p * kvHeads + kv) * headDim + i];
        out[(t * heads + h) * headDim + i] = sum;
      }
    }
  }
  return out;
}

describe('causalAttention', () => {
  const cases = [
    { name: 'grouped-query, two queries per kv head', tokens: 9, start: 0, heads: 4, kvHeads: 2, headDim: 8 },
    { name: 'grouped-query after cached positions', tokens: 5, start: 6, heads: 6, kvHeads: 2, headDim: 6 },
    { name: 'multi-head (kvHeads = heads)', tokens: 7, start: 2, heads: 3, kvHeads: 3, headDim: 4 },
    { name: 'multi-query (one kv head)', tokens: 6, start: 1, heads: 4, kvHeads: 1, headDim: 10 },
    { name: 'a single decode step', tokens: 1, start: 11, heads: 4, kvHeads: 2, headDim: 2 },
  ];
  for (const { name, tokens, start, heads, kvHeads, headDim } of cases) {
    it(`matches masked softmax attention: ${name}`, () => {
      const query = randomFloats(tokens * heads * headDim, 1, 2);
      const rows = start + tokens + 3; // a cache longer than needed; the extra rows must be ignored
      const keys = randomFloats(rows * kvHeads * headDim, 2, 2);
      const values = randomFloats(rows * kvHeads * headDim, 3);
      const got = causalAttention(query, keys, values, { tokens, startPosition: start, heads, kvHeads, headDim });
      expect(maxAbsDifference(got, reference(query, keys, values, tokens, start, heads, kvHeads, headDim))).toBeLessThan(1e-6);
    });
  }

  const windowed = [
    { name: 'a window shorter than the block of query rows', tokens: 9, start: 0, heads: 4, kvHeads: 2, headDim: 8, window: 3 },
    { name: 'a window after cached positions, odd head size', tokens: 5, start: 6, heads: 6, kvHeads: 2, headDim: 6, window: 4 },
    { name: 'a window of one (each query sees itself)', tokens: 7, start: 2, heads: 3, kvHeads: 3, headDim: 4, window: 1 },
    { name: 'a decode step with a window', tokens: 1, start: 11, heads: 4, kvHeads: 2, headDim: 2, window: 5 },
    { name: 'a window longer than the context', tokens: 6, start: 1, heads: 4, kvHeads: 1, headDim: 10, window: 64 },
  ];
  for (const { name, tokens, start, heads, kvHeads, headDim, window } of windowed) {
    it(`matches masked softmax attention with a sliding window: ${name}`, () => {
      const query = randomFloats(tokens * heads * headDim, 7, 2);
      const rows = start + tokens + 3;
      const keys = randomFloats(rows * kvHeads * headDim, 8, 2);
      const values = randomFloats(rows * kvHeads * headDim, 9);
      const got = causalAttention(query, keys, values, { tokens, startPosition: start, heads, kvHeads, headDim, window });
      expect(maxAbsDifference(got, reference(query, keys, values, tokens, start, heads, kvHeads, headDim, window))).toBeLessThan(1e-6);
      if (window < start + tokens) {
        expect(maxAbsDifference(got, reference(query, keys, values, tokens, start, heads, kvHeads, headDim))).toBeGreaterThan(1e-3);
      }
    });
  }

  it('rejects a window that is not a positive integer', () => {
    expect(() =>
      causalAttention(new Float32Array(4), new Float32Array(4), new Float32Array(4), { tokens: 1, startPosition: 0, heads: 1, kvHeads: 1, headDim: 4, window: 0 }),
    ).toThrow(/window must be a positive integer or undefined \(got 0\)/);
  });

  it('lets the first position attend only to itself', () => {
    const query = randomFloats(2 * 4, 4);
    const keys = randomFloats(2 * 4, 5);
    const values = randomFloats(2 * 4, 6);
    const got = causalAttention(query, keys, values, { tokens: 2, startPosition: 0, heads: 1, kvHeads: 1, headDim: 4 });
    expect(Array.from(got.subarray(0, 4))).toEqual(Array.from(values.subarray(0, 4)));
  });

  it('rejects kv heads that do not divide heads and a cache that is too short', () => {
    const query = new Float32Array(3 * 4);
    expect(() =>
      causalAttention(query, new Float32Array(8), new Float32Array(8), { tokens: 1, startPosition: 0, heads: 3, kvHeads: 2, headDim: 4 }),
    ).toThrow(/kvHeads must divide heads \(got kvHeads = 2, heads = 3\)/);
    expect(() =>
      causalAttention(new Float32Array(8), new Float32Array(8), new Float32Array(8), { tokens: 1, startPosition: 2, heads: 2, kvHeads: 1, headDim: 4 }),
    ).toThrow(/at least startPosition \+ tokens rows/);
  });
});
