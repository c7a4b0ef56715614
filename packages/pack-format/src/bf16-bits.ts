const scratch = new DataView(new ArrayBuffer(4));

/**
 * The bfloat16 value whose bit pattern is `bits`, exactly (bf16 is the top half of an f32).
 *
 * @param bits - a 16-bit pattern; only the low 16 bits are used.
 * @returns the value as a JS number (also exact in f32).
 */
export function bf16BitsToF32(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}

/**
 * The bfloat16 bit pattern nearest to `value` after rounding it to f32, ties to even; overflow gives
 * ±Infinity and NaN stays a (quiet) NaN rather than rounding into Infinity.
 *
 * @param value - any number; it is first rounded to f32.
 * @returns a 16-bit pattern in [0, 65535].
 */
export function f32ToBf16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
