/** Bits below the binary point of the fixed-point sums: values are kept below 2^62 units, inside ±2^63. */
export const fixedPointBits = 62;

/**
 * The two's complement 64-bit integer held by words `2·pair` (low) and `2·pair + 1` (high) of `words`, as the
 * nearest f64 (exact below 2^53).
 */
export function decodeFixed(words: Uint32Array, pair: number): number {
  return (words[2 * pair + 1] | 0) * 4294967296 + words[2 * pair];
}

/**
 * The least integer e with |value| ≤ 2^e (value > 0, finite): the exponent that scales `value` into (½, 1].
 */
export function exponentAbove(value: number): number {
  let exponent = Math.ceil(Math.log2(value));
  // Math.log2 may be off by one ulp near powers of two; settle it exactly.
  while (2 ** exponent < value) exponent++;
  while (2 ** (exponent - 1) >= value) exponent--;
  return exponent;
}

/**
 * The power-of-two scale that maps sums bounded by `bound` (> 0) to at most 2^62 fixed-point units, as an
 * exponent s (units are 2^-s), clamped to what an f32 multiplier can hold (2^-126 … 2^127).
 */
export function fixedPointExponent(bound: number): number {
  return Math.max(-126, Math.min(127, fixedPointBits - exponentAbove(bound)));
}
