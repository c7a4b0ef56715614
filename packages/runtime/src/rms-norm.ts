/**
 * Root-mean-square normalisation of every row: `y = x / sqrt(mean(x²) + eps) * weight`
 * (Zhang & Sennrich 2019; Llama's `input_layernorm`, `post_attention_layernorm` and final `norm`).
 *
 * @param input - `[tokens, size]` f32, row-major, where `size = weight.length`.
 * @param weight - `[size]` f32 gain.
 * @param eps - Added to the mean square before the square root (config `rmsNormEps`), ≥ 0.
 * @returns `[tokens, size]` f32.
 * @throws {RangeError} if `input.length` is not a multiple of `weight.length` or `eps` is negative.
 */
export function rmsNorm(input: Float32Array, weight: Float32Array, eps: number): Float32Array {
  const size = weight.length;
  if (size === 0 || input.length % size !== 0) {
    throw new RangeError(
      `rmsNorm: input length must be a multiple of the weight length (got ${input.length} and ${size})`,
    );
  }
  if (!(eps >= 0)) throw new RangeError(`rmsNorm: eps must be a finite number ≥ 0 (got ${eps})`);
  const out = new Float32Array(input.length);
  for (let row = 0; row < input.length; row += size) {
    let sumOfSquares = 0;
    for (let i = 0; i < size; i++) sumOfSquares += input[row + i] * input[row + i];
    const scale = 1 / Math.sqrt(sumOfSquares / size + eps);
    for (let i = 0; i < size; i++) out[row + i] = input[row + i] * scale * weight[i];
  }
  return out;
}
