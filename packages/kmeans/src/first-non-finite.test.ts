import { createTestRng, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { firstNonFinite } from './first-non-finite';

/** The scan firstNonFinite replaces. */
function naiveFirstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

// Finite values at the edges of the exponent range, which the exponent-bit test must not mistake for non-finite.
const edges = [0, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.1754943508222875e-38, 1, -2];
const bad = [Number.NaN, Infinity, -Infinity];

describe('firstNonFinite', () => {
  it('finds what a Number.isFinite scan finds, across chunk boundaries and in views', () => {
    const next = createTestRng(5);
    for (const length of [0, 1, 7, 1023, 1024, 1025, 3000, 5000]) {
      const data = randomFloats(length, length + 1);
      for (let i = 0; i < Math.min(length, 40); i++) data[Math.floor(next() * length)] = edges[i % edges.length];
      expect(firstNonFinite(data)).toBe(-1);
      for (const at of [0, 1023, 1024, 1025, length - 1, Math.floor(next() * length)]) {
        if (at < 0 || at >= length) continue;
        for (const value of bad) {
          const copy = data.slice();
          copy[at] = value;
          // A second bad value after the first must not change the answer.
          if (at + 1 < length) copy[length - 1] = -value;
          expect(firstNonFinite(copy)).toBe(naiveFirstNonFinite(copy));
          expect(firstNonFinite(copy)).toBe(at);
          // A view that starts past the buffer's start (the int32 view must follow its offset).
          const view = copy.subarray(1);
          expect(firstNonFinite(view)).toBe(naiveFirstNonFinite(view));
        }
      }
    }
  });

  it('recognizes every NaN bit pattern class and both infinities', () => {
    const bits = new Uint32Array([0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0xffffffff]);
    for (const pattern of bits) {
      const data = new Float32Array(2000);
      new Uint32Array(data.buffer)[1500] = pattern;
      expect(firstNonFinite(data)).toBe(1500);
    }
  });
});
