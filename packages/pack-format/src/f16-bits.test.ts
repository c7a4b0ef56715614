import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { bf16BitsToF32, f32ToBf16Bits } from './bf16-bits';
import { f16ArrayToF32, f16BitsToF32, f32ToF16Bits } from './f16-bits';

const bitsOf = (value: number): number => {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0);
};
const floatOf = (bits: number): number => {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
};

// Brute-force reference: the nearest finite f16 by binary search over all of them, ties to the even
// pattern, with the IEEE overflow rule (round to Infinity from 65520 = 65504 + half an ulp).
const positiveF16 = Array.from({ length: 0x7c00 }, (_, bits) => f16BitsToF32(bits));
function referenceF16(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  let low = 0;
  let high = positiveF16.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (positiveF16[middle] <= magnitude) low = middle;
    else high = middle;
  }
  const below = magnitude - positiveF16[low];
  const above = positiveF16[high] - magnitude;
  if (below < above) return sign | low;
  if (above < below) return sign | high;
  return sign | (low % 2 === 0 ? low : high);
}

describe('f16BitsToF32', () => {
  it('decodes the landmark patterns', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
  });

  it('round-trips every non-NaN pattern through f32ToF16Bits, and the table agrees', () => {
    const all = new Uint16Array(65536).map((_, bits) => bits);
    const decoded = f16ArrayToF32(all);
    const failures: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = f16BitsToF32(bits);
      const ok = Number.isNaN(value)
        ? Number.isNaN(decoded[bits]) && (f32ToF16Bits(value) & 0x7e00) === 0x7e00
        : Object.is(decoded[bits], value) && f32ToF16Bits(value) === bits;
      if (!ok) failures.push(bits);
    }
    expect(failures).toEqual([]);
  });
});

describe('f32ToF16Bits', () => {
  it('rounds to nearest even at ties, in normals and subnormals', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000);
    expect(f32ToF16Bits(-(2 ** -25))).toBe(0x8000);
    expect(f32ToF16Bits(2 ** -25 * (1 + 2 ** -20))).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(f32ToF16Bits(5 * 2 ** -25)).toBe(0x0002);
    expect(f32ToF16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400);
    expect(f32ToF16Bits(1e-10)).toBe(0);
  });

  it('overflows to infinity from 65520 and keeps NaN a NaN', () => {
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e9)).toBe(0xfc00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(f32ToF16Bits(floatOf(0x7f800001)) & 0x3ff).not.toBe(0);
  });

  it('agrees with a brute-force nearest search on seeded random f32 values and midpoints', () => {
    const next = createTestRng(16);
    const failures: number[] = [];
    for (let trial = 0; trial < 20000; trial++) {
      // Exponents concentrated on the f16 range, including the subnormal and overflow edges.
      const exponent = Math.floor(next() * 50) - 30;
      const value = Math.fround((next() * 2 - 1) * 2 ** exponent);
      if (f32ToF16Bits(value) !== referenceF16(value)) failures.push(value);
    }
    for (let bits = 0; bits < 0x7bff; bits += 7) {
      const midpoint = (f16BitsToF32(bits) + f16BitsToF32(bits + 1)) / 2;
      if (f32ToF16Bits(midpoint) !== referenceF16(midpoint)) failures.push(midpoint);
      if (f32ToF16Bits(-midpoint) !== referenceF16(-midpoint)) failures.push(-midpoint);
    }
    expect(failures).toEqual([]);
  });
});

describe('bf16', () => {
  it('decodes as the top half of an f32', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc040)).toBe(-3);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(bf16BitsToF32(0x7fc0)).toBeNaN();
    expect(bf16BitsToF32(0x0001)).toBe(floatOf(0x00010000));
  });

  it('round-trips every non-NaN pattern', () => {
    const failures: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = bf16BitsToF32(bits);
      const ok = Number.isNaN(value) ? Number.isNaN(bf16BitsToF32(f32ToBf16Bits(value))) : f32ToBf16Bits(value) === bits;
      if (!ok) failures.push(bits);
    }
    expect(failures).toEqual([]);
  });

  it('rounds to nearest even against the two truncation neighbours', () => {
    const next = createTestRng(17);
    for (let trial = 0; trial < 20000; trial++) {
      const x = Math.floor(next() * 2 ** 32) >>> 0;
      const value = floatOf(x);
      if (Number.isNaN(value)) {
        expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(value)))).toBe(true);
        continue;
      }
      const low = x >>> 16;
      const lowValue = bf16BitsToF32(low);
      const highValue = bf16BitsToF32(low + 1);
      const below = Math.abs(value - lowValue);
      const above = Math.abs(highValue - value);
      const expected = below < above ? low : above < below ? low + 1 : low % 2 === 0 ? low : low + 1;
      expect(f32ToBf16Bits(value)).toBe(expected & 0xffff);
    }
    expect(f32ToBf16Bits(floatOf(0x3f808000))).toBe(0x3f80);
    expect(f32ToBf16Bits(floatOf(0x3f818000))).toBe(0x3f82);
    expect(f32ToBf16Bits(floatOf(0x7f7fffff))).toBe(0x7f80);
    expect(f32ToBf16Bits(floatOf(0x7f800001)) & 0x7f).not.toBe(0);
    expect(bitsOf(bf16BitsToF32(f32ToBf16Bits(-0)))).toBe(0x80000000);
  });
});
