const scratch = new DataView(new ArrayBuffer(4));
let f16Table: Float32Array | undefined;

/**
 * The IEEE 754 binary16 value whose bit pattern is `bits`, exactly (every f16 is representable in f32).
 * Node 20 has no `Float16Array`, so f16 payloads travel as `Uint16Array` bit patterns.
 *
 * @param bits - a 16-bit pattern; only the low 16 bits are used.
 * @returns the value as a JS number (also exact in f32), including ±0, subnormals, ±Infinity and NaN.
 */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * The binary16 bit pattern nearest to `value` after rounding it to f32, with ties to even (IEEE 754
 * roundTiesToEven): magnitudes from 65520 up become ±Infinity, values below 2^-25 in magnitude become ±0,
 * subnormals are produced exactly, NaN becomes a quiet NaN that keeps the top payload bits.
 *
 * @param value - any number; it is first rounded to f32 (`Math.fround`), the conversion this name promises.
 * @returns a 16-bit pattern in [0, 65535].
 */
export function f32ToF16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exponent32 = (x >>> 23) & 0xff;
  const mantissa32 = x & 0x7fffff;
  if (exponent32 === 0xff) return sign | 0x7c00 | (mantissa32 === 0 ? 0 : 0x200 | (mantissa32 >>> 13));
  const exponent = exponent32 - 127 + 15;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    // Below 2^-25 even the smallest subnormal (2^-24) is more than twice as far away as zero.
    if (exponent < -10) return sign;
    const significand = mantissa32 | 0x800000;
    const shift = 14 - exponent;
    return sign | roundShift(significand, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent, up to Infinity (0x7c00).
  return sign | roundShift((exponent << 23) | mantissa32, 13);
}

/**
 * Decodes `count` f16 bit patterns to f32 through a 65536-entry table (256 KiB, built on first use).
 *
 * @param bits - `[count]` f16 bit patterns.
 * @returns `[count]` f32 values, exact.
 */
export function f16ArrayToF32(bits: Uint16Array): Float32Array {
  const table = getF16Table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

function getF16Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToF32(bits);
  }
  return f16Table;
}

/** `value >> shift` rounded to nearest, ties to even; 1 ≤ shift ≤ 24 and value < 2^31. */
function roundShift(value: number, shift: number): number {
  const result = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return remainder > half || (remainder === half && (result & 1) === 1) ? result + 1 : result;
}
