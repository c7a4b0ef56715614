/**
 * A linear layer `y = x · Wᵀ (+ b)` applied to a window of tokens. The decoder calls every projection through
 * this interface, so dense, quantized (VPTQ) or GPU-backed layers are interchangeable.
 */
export interface Linear {
  /** Width of each input row. */
  readonly inFeatures: number;
  /** Width of each output row. */
  readonly outFeatures: number;
  /**
   * Applies the layer to `tokens` rows at once.
   *
   * @param input - `[tokens, inFeatures]` f32, row-major; not modified and not retained.
   * @param tokens - Number of rows in `input`, ≥ 1.
   * @returns `[tokens, outFeatures]` f32, a fresh array the caller owns.
   */
  forward(input: Float32Array, tokens: number): Float32Array;
}
