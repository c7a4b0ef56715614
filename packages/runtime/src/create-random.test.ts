import { describe, expect, it } from 'vitest';

import { createRandom, defaultSeed } from './create-random';

describe('createRandom', () => {
  it('repeats the same stream for the same seed and differs across seeds', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(first);
    const byDefault = createRandom();
    const explicit = createRandom(defaultSeed);
    expect(byDefault()).toBe(explicit());
  });

  it('draws uniformly from [0, 1)', () => {
    const next = createRandom(123);
    const bins = new Array(10).fill(0);
    let sum = 0;
    let min = 1;
    let max = 0;
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const value = next();
      min = Math.min(min, value);
      max = Math.max(max, value);
      bins[Math.floor(value * 10)]++;
      sum += value;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / count).toBeCloseTo(0.5, 2);
    // Each bin holds 10,000 ± 95 (one standard deviation); 5σ bounds cannot flake for a fixed seed.
    for (const bin of bins) expect(Math.abs(bin - count / 10)).toBeLessThan(475);
  });

  it('rejects a non-integer seed', () => {
    expect(() => createRandom(1.5)).toThrow(/seed must be an integer \(got 1.5\)/);
  });
});
