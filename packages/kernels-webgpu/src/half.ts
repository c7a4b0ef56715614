const scratch = new DataView(new ArrayBuffer(4));

/** The f32 value of IEEE binary16 bits `bits` (exact). */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** IEEE binary16 bits of `value`, rounded to nearest even; overflow gives ±Infinity, NaN a quiet NaN. */
export function numberToF16Bits(value: number): number {
  scratch.setFloat32(0, value, true);
  const f32 = scratch.getUint32(0, true);
  const sign = (f32 >>> 16) & 0x8000;
  const exponent = (f32 >>> 23) & 0xff;
  const mantissa = f32 & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const unbiased = exponent - 127;
  if (unbiased > 15) return sign | 0x7c00;
  if (unbiased >= -14) {
    let half = ((unbiased + 15) << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }
  if (unbiased < -25) return sign;
  // Subnormal: shift the full significand (with its implicit 1) and round to nearest even.
  const significand = mantissa | 0x800000;
  const shift = -unbiased - 14 + 13;
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

/** The f32 value of bfloat16 bits `bits` (exact: bf16 is the top half of an f32). */
export function bf16BitsToNumber(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16, true);
  return scratch.getFloat32(0, true);
}

/** bfloat16 bits of `value`, rounded to nearest even; NaN stays a quiet NaN. */
export function numberToBf16Bits(value: number): number {
  scratch.setFloat32(0, value, true);
  const f32 = scratch.getUint32(0, true);
  if ((f32 & 0x7f800000) === 0x7f800000 && (f32 & 0x7fffff) !== 0) return ((f32 >>> 16) | 0x40) & 0xffff;
  const rounded = f32 + 0x7fff + ((f32 >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** f16 bit patterns of every value of `values`. */
export function toF16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]);
  return out;
}

/** The f32 values of f16 bit patterns. */
export function fromF16Bits(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToNumber(bits[i]);
  return out;
}
