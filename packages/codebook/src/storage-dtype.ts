import type { FloatTensorDtype } from '@vptq/pack-format';

interface FloatFormat {
  /** Explicit mantissa bits. */
  readonly mantissaBits: number;
  /** Smallest normal exponent. */
  readonly minExponent: number;
  /** Largest finite value. */
  readonly maxFinite: number;
}

const formats: Record<'F16' | 'BF16', FloatFormat> = {
  F16: { mantissaBits: 10, minExponent: -14, maxFinite: 65504 },
  BF16: { mantissaBits: 7, minExponent: -126, maxFinite: (2 - 2 ** -7) * 2 ** 127 },
};

/**
 * `value` rounded to the nearest `dtype` value (ties to even, subnormals kept, overflow to ±Infinity), as an
 * f64 number; the identity for F32 inputs with `'F32'`. The same rounding as an IEEE f32 → f16/bf16
 * conversion, so values rounded here convert to the stored dtype without further change.
 */
export function roundToStorage(value: number, dtype: FloatTensorDtype): number {
  if (dtype === 'F32') return Math.fround(value);
  const magnitude = Math.abs(value);
  if (magnitude === 0 || !Number.isFinite(magnitude)) return value;
  const { mantissaBits, minExponent, maxFinite } = formats[dtype];
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 can be off by one next to powers of two; powers of two themselves are exact in f64.
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  const quantum = 2 ** (Math.max(exponent, minExponent) - mantissaBits);
  const scaled = magnitude / quantum;
  let steps = Math.floor(scaled);
  const fraction = scaled - steps;
  if (fraction > 0.5 || (fraction === 0.5 && steps % 2 === 1)) steps++;
  const rounded = steps * quantum;
  const result = rounded > maxFinite ? Infinity : rounded;
  return value < 0 ? -result : result;
}

/** Rounds every element of `values` to `dtype` in place (see {@link roundToStorage}). */
export function roundArrayToStorage(values: Float32Array, dtype: FloatTensorDtype): void {
  if (dtype === 'F32') return;
  for (let i = 0; i < values.length; i++) values[i] = roundToStorage(values[i], dtype);
}
