import type { FinalizedHessian } from '@vptq/hessian';
import { createRandom } from '@vptq/kmeans';

/** A synthetic projection and the input Hessian it is quantized against. */
export interface SyntheticLayer {
  /** `[rows, cols]` f32 weight. */
  readonly weight: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly hessian: FinalizedHessian;
}

/**
 * A layer with the features that make real Hessians hard, H = E[xxᵀ] of inputs x = s ⊙ (z + M·u): log-normal
 * per-channel scales s (a few channels ~20× the median, as LLM activations have outlier channels), i.i.d. unit
 * noise z and a shared rank-16 component M·u (correlated channels, a decaying spectrum). H is the exact second
 * moment, diag(s)·(I + M·Mᵀ)·diag(s), as if accumulated over `tokens` tokens. Weights have per-row log-normal
 * scales.
 */
export function syntheticLayer(rows: number, cols: number, tokens: number, seed = 0): SyntheticLayer {
  const random = createRandom(seed);
  const gaussian = (): number => {
    // Box–Muller; 1 − u keeps the logarithm finite.
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const rank = 16;
  const scales = Float64Array.from({ length: cols }, () => Math.exp(gaussian()));
  const mixing = Float64Array.from({ length: cols * rank }, () => gaussian() * 0.5);
  const data = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      let shared = i === j ? 1 : 0;
      for (let r = 0; r < rank; r++) shared += mixing[i * rank + r] * mixing[j * rank + r];
      const value = scales[i] * scales[j] * shared;
      data[i * cols + j] = value;
      data[j * cols + i] = value;
    }
  }
  const weight = new Float32Array(rows * cols);
  for (let row = 0; row < rows; row++) {
    const scale = 0.02 * Math.exp(0.3 * gaussian());
    for (let c = 0; c < cols; c++) weight[row * cols + c] = gaussian() * scale;
  }
  return { weight, rows, cols, hessian: { data, size: cols, mean: new Float64Array(cols), tokens } };
}
