import { describe, expect, it } from 'vitest';

import { createRandom } from '@vptq/kmeans';
import { sampleToken } from './sample-token';

const logits = new Float32Array([0.5, 2, -1, 1.2, 2, 0.1]);

function frequencies(options: { temperature: number; topP?: number }, draws: number, seed = 1): number[] {
  const random = createRandom(seed);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, options, random)]++;
  return counts.map((count) => count / draws);
}

describe('sampleToken', () => {
  it('picks the argmax at temperature 0, ties going to the lowest id, without drawing', () => {
    let draws = 0;
    const random = (): number => {
      draws++;
      return 0.5;
    };
    expect(sampleToken(logits, { temperature: 0 }, random)).toBe(1);
    expect(sampleToken(new Float32Array([-3, -2, -2.5]), {}, random)).toBe(1);
    expect(draws).toBe(0);
  });

  it('draws in proportion to softmax(logits / temperature)', () => {
    for (const temperature of [1, 0.5]) {
      const scaled = Array.from(logits, (value) => Math.exp(value / temperature));
      const total = scaled.reduce((sum, value) => sum + value, 0);
      const got = frequencies({ temperature }, 40_000);
      // 40,000 draws: standard deviation ≤ 0.0025 per probability; 0.015 is 6σ.
      got.forEach((frequency, id) => expect(Math.abs(frequency - scaled[id] / total)).toBeLessThan(0.015));
    }
  });

  it('draws only from the top-p nucleus, renormalised', () => {
    const probabilities = Array.from(logits, (value) => Math.exp(value));
    const total = probabilities.reduce((sum, value) => sum + value, 0);
    const p = probabilities.map((value) => value / total);
    // Ids by probability: 1 and 4 (tied, 0.33 each), then 3 (0.15); 1 + 4 + 3 passes 0.7.
    const got = frequencies({ temperature: 1, topP: 0.7 }, 40_000);
    expect(got[0] + got[2] + got[5]).toBe(0);
    const nucleus = p[1] + p[4] + p[3];
    for (const id of [1, 4, 3]) expect(Math.abs(got[id] - p[id] / nucleus)).toBeLessThan(0.015);
  });

  it('is deterministic for a seed', () => {
    expect(frequencies({ temperature: 0.8, topP: 0.9 }, 200, 5)).toEqual(frequencies({ temperature: 0.8, topP: 0.9 }, 200, 5));
  });

  it('rejects a negative temperature, a non-positive topP and empty logits', () => {
    const random = createRandom(1);
    expect(() => sampleToken(logits, { temperature: -1 }, random)).toThrow(/temperature must be a finite number ≥ 0 \(got -1\)/);
    expect(() => sampleToken(logits, { temperature: 1, topP: 0 }, random)).toThrow(/topP must be > 0 \(got 0\)/);
    expect(() => sampleToken(new Float32Array(0), {}, random)).toThrow(/logits must not be empty/);
  });
});
