/**
 * WGSL helpers shared by the VQ kernels: reading one element (or an even-aligned pair) of a codebook stored
 * as f32 words, f16 pairs or bf16 pairs in an `array<vec4u>` binding, and field masks that stay valid at 0
 * and 32 bits. `book` names the binding; `format` is the override holding 0 (f32), 1 (f16) or 2 (bf16).
 * A module includes {@link codebookReaderWgsl} once per codebook binding.
 */
export function codebookReaderWgsl(book: string, format: string, suffix: string): string {
  return /* wgsl */ `
fn element${suffix}(element: u32) -> f32 {
  if (${format} == 0u) {
    return bitcast<f32>(${book}[element >> 2u][element & 3u]);
  }
  let word = ${book}[element >> 3u][(element >> 1u) & 3u];
  if (${format} == 1u) {
    return unpack2x16float(word)[element & 1u];
  }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (element & 1u) == 1u));
}

// Elements (element, element + 1) for an even element: one word for f16/bf16.
fn pair${suffix}(element: u32) -> vec2f {
  if (${format} == 0u) {
    let words = ${book}[element >> 2u];
    return bitcast<vec2f>(select(words.xy, words.zw, (element & 2u) == 2u));
  }
  let word = ${book}[element >> 3u][(element >> 1u) & 3u];
  if (${format} == 1u) {
    return unpack2x16float(word);
  }
  return vec2f(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u));
}
`;
}

/**
 * `quad<suffix>(element)`: elements element … element + 3 of a codebook whose entries start at multiples of
 * `vectorLength` (element = entry · v + 4q). Lanes past the entry read the next entry (or the 16 spare bytes
 * after the last one) and must be ignored by the caller. Aligned cases take one 16-byte load per 8 f16.
 */
export function codebookQuadWgsl(book: string, format: string, suffix: string): string {
  return /* wgsl */ `
fn quad${suffix}(element: u32) -> vec4f {
  if (${format} == 0u) {
    if (vectorLength % 4u == 0u) {
      return bitcast<vec4f>(${book}[element >> 2u]);
    }
    return vec4f(element${suffix}(element), element${suffix}(element + 1u), element${suffix}(element + 2u), element${suffix}(element + 3u));
  }
  if (vectorLength % 4u == 0u) {
    let words = ${book}[element >> 3u];
    let pair = select(words.xy, words.zw, (element & 4u) != 0u);
    if (${format} == 1u) {
      return vec4f(unpack2x16float(pair.x), unpack2x16float(pair.y));
    }
    return bitcast<vec4f>(vec4u(pair.x << 16u, pair.x & 0xffff0000u, pair.y << 16u, pair.y & 0xffff0000u));
  }
  if (vectorLength % 2u == 0u) {
    return vec4f(pair${suffix}(element), pair${suffix}(element + 2u));
  }
  return vec4f(element${suffix}(element), element${suffix}(element + 1u), element${suffix}(element + 2u), element${suffix}(element + 3u));
}
`;
}

/** `lowBits(n)`: a mask of the n low bits for 0 ≤ n ≤ 32 (a plain `(1u << n) − 1u` fails at 32). */
export const lowBitsWgsl = /* wgsl */ `
fn lowBits(count: u32) -> u32 {
  return select(0u, 0xffffffffu >> (32u - max(count, 1u)), count > 0u);
}
`;
