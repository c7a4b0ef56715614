/**
 * WGSL helpers of the VQ kernels: reading one element of a codebook stored
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
`;
}

/** `lowBits(n)`: a mask of the n low bits for 0 ≤ n ≤ 32 (a plain `(1u << n) − 1u` fails at 32). */
export const lowBitsWgsl = /* wgsl */ `
fn lowBits(count: u32) -> u32 {
  return select(0u, 0xffffffffu >> (32u - max(count, 1u)), count > 0u);
}
`;

/**
 * Reading codebook entries stored in 16-byte blocks (the VQ-GEMV kernels' `array<vec4u>` codebooks):
 * `quadOf(block, high, format)` is quad 'high' of a block (f32 entries take a block per quad, f16/bf16 entries
 * two quads per block; `format` 0 f32, 1 f16, 2 bf16), and `firstBlock(block, w, words)` moves an entry of 1 or 2
 * words at word w to the start of its block.
 */
export const vqBlockWgsl = /* wgsl */ `
fn quadOf(block: vec4u, high: bool, format: u32) -> vec4f {
  if (format == 0u) {
    return bitcast<vec4f>(block);
  }
  let pair = select(block.xy, block.zw, high);
  if (format == 1u) {
    return vec4f(unpack2x16float(pair.x), unpack2x16float(pair.y));
  }
  return bitcast<vec4f>(vec4u(pair.x << 16u, pair.x & 0xffff0000u, pair.y << 16u, pair.y & 0xffff0000u));
}

fn firstBlock(block: vec4u, w: u32, words: u32) -> vec4u {
  if (words == 1u) {
    return vec4u(block[w & 3u], 0u, 0u, 0u);
  }
  if (words == 2u) {
    return select(block, block.zwxy, (w & 2u) != 0u);
  }
  return block;
}
`;

/**
 * `fieldFrom(lo, hi, offset)`: the packed index field at bit 'offset' of word lo, continued in hi when it
 * straddles. Needs the module's `totalBits` override (bits per field) and {@link lowBitsWgsl}.
 */
export const packedFieldWgsl = /* wgsl */ `
fn fieldFrom(lo: u32, hi: u32, offset: u32) -> u32 {
  let low = lo >> offset;
  return select(low, low | (hi << (32u - offset)), offset + totalBits > 32u) & lowBits(totalBits);
}
`;
