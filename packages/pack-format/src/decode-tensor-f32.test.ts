import { describe, expect, it } from 'vitest';

import { decodeTensorF32 } from './decode-tensor-f32';

/** bfloat16 values from their definition: sign, 8 exponent bits, 7 mantissa bits (no bit tricks). */
function bf16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 7) & 0xff;
  const mantissa = bits & 0x7f;
  if (exponent === 0xff) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * (mantissa / 128) * 2 ** -126;
  return sign * (1 + mantissa / 128) * 2 ** (exponent - 127);
}

describe('decodeTensorF32', () => {
  it('widens every BF16 bit pattern exactly, from aligned and unaligned bytes', () => {
    const patterns = Array.from({ length: 65536 }, (_, bits) => bits);
    const bytes = new Uint8Array(1 + 2 * patterns.length);
    patterns.forEach((bits, i) => {
      bytes[1 + 2 * i] = bits & 0xff; // little-endian
      bytes[2 + 2 * i] = bits >> 8;
    });
    const aligned = new Uint8Array(bytes.buffer.slice(1));
    const unaligned = bytes.subarray(1);
    expect(unaligned.byteOffset % 2).toBe(1);
    for (const source of [aligned, unaligned]) {
      const values = decodeTensorF32(source, 'BF16', 'w');
      expect(values.length).toBe(65536);
      patterns.forEach((bits) => expect(Object.is(values[bits], bf16Value(bits)) || (Number.isNaN(values[bits]) && Number.isNaN(bf16Value(bits)))).toBe(true));
    }
    // Decoding does not alias or alter the source.
    const copy = aligned.slice();
    decodeTensorF32(aligned, 'BF16', 'w')[0] = 42;
    expect(aligned).toEqual(copy);
  });
});
