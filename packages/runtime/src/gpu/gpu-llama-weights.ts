import type { LinearInput, LinearName, LlamaConfig } from '@vptq/loader';
import type { GpuWeights } from '@vptq/kernels-webgpu';

import type { DenseGpuLinear, GpuLinear, VqStackGpuLinear } from './gpu-linear';

/** One decoder layer resident on the GPU. */
export interface GpuLayerWeights {
  /** `[hiddenSize]` f32 gain of the RMSNorm before attention (ones when {@link gainsFolded}.input). */
  readonly inputNorm: GPUBuffer;
  /** `[hiddenSize]` f32 gain of the RMSNorm before the MLP (ones when {@link gainsFolded}.postAttention). */
  readonly postAttentionNorm: GPUBuffer;
  /**
   * Whether the gain of the input (post-attention) RMSNorm was folded into q/k/v (gate/up): packed ones through
   * `foldNormGain`, dense ones (all of the group dense, without bias) by scaling their columns at upload. The
   * norm buffer then holds ones, and a decoded token skips the RMSNorm dispatch: the fused VQ-GEMV normalizes its
   * input itself; after dense projections, RoPE + KV append (SwiGLU) multiplies by the inverse RMS.
   */
  readonly gainsFolded?: { readonly input: boolean; readonly postAttention: boolean };
  /** The seven projections, dense or VPTQ-packed. */
  readonly linears: Readonly<Record<LinearName, GpuLinear>>;
  /**
   * Projections stored stacked, so that a decode step runs one GEMV for q, k and v (`[q | k | v]` rows) and
   * one for gate and up: dense matrices whose blocks `linears` views, or packed layers in shared buffers
   * (same layout, see `uploadVqLayers`). Absent when the projections of a group mix dense and packed, their
   * packed layouts differ, or the blocks cannot be addressed separately (see `canStackRows`).
   */
  readonly stacked?: StackedLinears;
}

/**
 * The stacked projections of one layer (see {@link GpuLayerWeights.stacked}), by the input they share
 * (`decoderLinears` of @vptq/loader): `'attention-input'` for q/k/v, `'mlp-input'` for gate/up.
 */
export type StackedLinears = Partial<Record<LinearInput, DenseGpuLinear | VqStackGpuLinear>>;

/**
 * Every weight of a Llama-family decoder resident on the GPU: the source of a GPU model, whether uploaded
 * from a model file or synthesized on the device for a benchmark.
 */
export interface GpuLlamaWeights {
  readonly config: LlamaConfig;
  /** `[vocabSize, hiddenSize]` f32 or f16 token embeddings, split into row windows as bindings require. */
  readonly embedTokens: GpuWeights;
  readonly layers: readonly GpuLayerWeights[];
  /** `[hiddenSize]` f32 gain of the final RMSNorm. */
  readonly norm: GPUBuffer;
  /** `[vocabSize, hiddenSize]` classifier; the same object as `embedTokens` when tied. */
  readonly lmHead: GpuWeights;
  /** Bytes of GPU memory the weights hold. */
  readonly byteLength: number;
  /** Frees every weight buffer. */
  destroy(): void;
}

/** Bytes held by the buffers behind a {@link GpuWeights}'s windows (each buffer counted once). */
export function gpuWeightsByteLength(weights: GpuWeights): number {
  const buffers = new Set(weights.windows.map((window) => window.binding.buffer));
  let total = 0;
  for (const buffer of buffers) total += buffer.size;
  return total;
}

/**
 * The weights of a model from its parts, with their byte count; `destroy()` destroys `owned` (every buffer and
 * matrix the builder allocated, each once, so tied or stacked views are not freed twice).
 */
export function assembleLlamaWeights(
  config: GpuLlamaWeights['config'],
  parts: Omit<GpuLlamaWeights, 'byteLength' | 'destroy' | 'config'>,
  owned: readonly { destroy(): void }[],
): GpuLlamaWeights {
  return {
    config,
    ...parts,
    byteLength: llamaWeightsByteLength(parts),
    destroy() {
      for (const resource of owned) resource.destroy();
    },
  };
}

/**
 * Bytes of GPU memory behind a model's weights: embeddings, classifier (once when tied), final norm, and each
 * layer's norms and projections (stacked projections count what they own beyond their views, usually 0).
 */
export function llamaWeightsByteLength(weights: Omit<GpuLlamaWeights, 'byteLength' | 'destroy' | 'config'>): number {
  const { embedTokens, lmHead, norm, layers } = weights;
  let total = gpuWeightsByteLength(embedTokens) + (lmHead === embedTokens ? 0 : gpuWeightsByteLength(lmHead)) + norm.size;
  for (const layer of layers) {
    total += layer.inputNorm.size + layer.postAttentionNorm.size;
    for (const linear of [...Object.values(layer.linears), ...Object.values(layer.stacked ?? {})]) total += linear.byteLength;
  }
  return total;
}
