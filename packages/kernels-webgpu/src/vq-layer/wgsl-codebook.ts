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
