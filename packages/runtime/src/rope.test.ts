import { maxAbsDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { applyRope, ropeInverseFrequencies } from './rope';
import { llama3InverseFrequencies } from './test/reference-forward';

const heads = 3;
const headDim = 8;
const width = heads * headDim;

function angle(position: number, pair: number, theta: number): number {
  return position * theta ** (-(2 * pair) / headDim);
}

/** Moves component 2i + a of every head to a·headDim/2 + i: the row order of HF's permuted q/k weights. */
function toHalfLayout(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < values.length; row += headDim) {
    for (let i = 0; i < headDim / 2; i++) {
      out[row + i] = values[row + 2 * i];
      out[row + headDim / 2 + i] = values[row + 2 * i + 1];
    }
  }
  return out;
}

describe('ropeInverseFrequencies', () => {
  it('equals transformers\' llama3 formula at Llama 3.2\'s published settings, to f32 rounding, in all three bands', () => {
    const json = { factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const expected = llama3InverseFrequencies(64, 500000, json);
    const got = ropeInverseFrequencies(64, 500000, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    const plain = ropeInverseFrequencies(64, 500000);
    let worst = 0;
    for (let j = 0; j < 32; j++) worst = Math.max(worst, Math.abs(got[j] - expected[j]) / expected[j]);
    console.log(`llama3 inverse frequencies (headDim 64, θ 500000): max relative difference to the reference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(3e-7); // f32 rounding of the plain frequency and of the result
    // Bands: kept (wavelength < 2048), smoothed (2048 … 8192) and divided by 32 (> 8192) each occur.
    const bands = [...plain].map((f, j) => (got[j] === f ? 'kept' : Math.abs(got[j] - Math.fround(f / 32)) <= 1e-7 * got[j] ? 'divided' : 'smoothed'));
    expect(new Set(bands)).toEqual(new Set(['kept', 'smoothed', 'divided']));
  });

  it('is the plain f32 θ^(−2j/d) without a scaling', () => {
    expect([...ropeInverseFrequencies(4, 100)]).toEqual([1, Math.fround(0.1)]);
  });
});

describe('applyRope', () => {
  it('rotates adjacent pairs by position × theta^(-2j/d) in the interleaved layout', () => {
    const tokens = 5;
    const start = 3;
    const theta = 500;
    const values = randomFloats(tokens * width, 1);
    const expected = new Float64Array(values.length);
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < heads; h++) {
        for (let j = 0; j < headDim / 2; j++) {
          const at = t * width + h * headDim + 2 * j;
          const a = angle(start + t, j, theta);
          expected[at] = values[at] * Math.cos(a) - values[at + 1] * Math.sin(a);
          expected[at + 1] = values[at] * Math.sin(a) + values[at + 1] * Math.cos(a);
        }
      }
    }
    const got = applyRope(values.slice(), { heads, headDim, startPosition: start, theta, layout: 'interleaved' });
    expect(maxAbsDifference(got, expected)).toBeLessThan(1e-5);
  });

  it('follows HF rotate_half in the half layout: x·cos + rotate_half(x)·sin', () => {
    const tokens = 4;
    const start = 7;
    const values = randomFloats(tokens * width, 2);
    const expected = new Float64Array(values.length);
    const half = headDim / 2;
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < heads; h++) {
        const base = t * width + h * headDim;
        for (let d = 0; d < headDim; d++) {
          const a = angle(start + t, d % half, 10000);
          const rotated = d < half ? -values[base + d + half] : values[base + d - half];
          expected[base + d] = values[base + d] * Math.cos(a) + rotated * Math.sin(a);
        }
      }
    }
    const got = applyRope(values.slice(), { heads, headDim, startPosition: start, layout: 'half' });
    expect(maxAbsDifference(got, expected)).toBeLessThan(1e-5);
  });

  it('gives the same rotation in the half layout on permuted components as in the interleaved layout', () => {
    const values = randomFloats(6 * width, 3);
    const interleaved = applyRope(values.slice(), { heads, headDim, startPosition: 100, layout: 'interleaved' });
    const half = applyRope(toHalfLayout(values), { heads, headDim, startPosition: 100, layout: 'half' });
    expect(maxAbsDifference(half, toHalfLayout(interleaved))).toBe(0);
  });

  it('places row t at startPosition + t, so a window equals the tail of a longer run', () => {
    const values = randomFloats(10 * width, 4);
    const whole = applyRope(values.slice(), { heads, headDim });
    const tail = applyRope(values.slice(6 * width), { heads, headDim, startPosition: 6 });
    expect(maxAbsDifference(tail, whole.subarray(6 * width))).toBe(0);
    const first = applyRope(values.slice(0, width), { heads, headDim });
    expect(first).toEqual(values.subarray(0, width)); // position 0 is the identity
  });

  it('keeps the length of every rotated pair', () => {
    const values = randomFloats(3 * width, 5);
    const got = applyRope(values.slice(), { heads, headDim, startPosition: 40 });
    for (let i = 0; i < values.length; i += 2) {
      expect(Math.hypot(got[i], got[i + 1])).toBeCloseTo(Math.hypot(values[i], values[i + 1]), 5);
    }
  });

  it('rotates by the llama3-scaled frequencies when given a scaling', () => {
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
    const values = randomFloats(2 * width, 6);
    const frequencies = ropeInverseFrequencies(headDim, 10000, scaling);
    const got = applyRope(values.slice(), { heads, headDim, startPosition: 30, scaling });
    const expected = new Float64Array(values.length);
    for (let t = 0; t < 2; t++) {
      for (let h = 0; h < heads; h++) {
        for (let j = 0; j < headDim / 2; j++) {
          const at = t * width + h * headDim + 2 * j;
          const a = (30 + t) * frequencies[j];
          expected[at] = values[at] * Math.cos(a) - values[at + 1] * Math.sin(a);
          expected[at + 1] = values[at] * Math.sin(a) + values[at + 1] * Math.cos(a);
        }
      }
    }
    expect(maxAbsDifference(got, expected)).toBeLessThan(1e-5);
    expect(maxAbsDifference(got, applyRope(values.slice(), { heads, headDim, startPosition: 30 }))).toBeGreaterThan(1e-2);
  });

  it('rejects an odd head size, a partial row and an unknown layout', () => {
    expect(() => applyRope(new Float32Array(6), { heads: 2, headDim: 3 })).toThrow(
      /headDim must be a positive even integer \(got 3\)/,
    );
    expect(() => applyRope(new Float32Array(10), { heads: 2, headDim: 4 })).toThrow(
      /values length must be a multiple of heads × headDim \(got 10 and 8\)/,
    );
    expect(() => applyRope(new Float32Array(8), { heads: 2, headDim: 4, layout: 'neox' as never })).toThrow(/layout must be/);
    expect(() => applyRope(new Float32Array(8), { heads: 2, headDim: 4, startPosition: -1 })).toThrow(/startPosition/);
  });
});
