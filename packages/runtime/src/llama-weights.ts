import type { LinearName, LlamaConfig } from '@vptq/loader';

import type { Linear } from './linear';

/** The weights of one decoder layer. */
export interface LlamaLayerWeights {
  /** `[hiddenSize]` f32 gain of the RMSNorm before attention (`input_layernorm`). */
  readonly inputNorm: Float32Array;
  /** `[hiddenSize]` f32 gain of the RMSNorm before the MLP (`post_attention_layernorm`). */
  readonly postAttentionNorm: Float32Array;
  /** The seven projections, by Hugging Face name; shapes as in `listLinearSpecs` of @vptq/loader. */
  readonly linears: Readonly<Record<LinearName, Linear>>;
}

/**
 * Everything a Llama-family decoder needs to run, independent of where it runs: the config, the f32
 * embedding and norm tensors, and every projection behind the {@link Linear} interface.
 */
export interface LlamaWeights {
  readonly config: LlamaConfig;
  /** `[vocabSize, hiddenSize]` f32 token embeddings (`model.embed_tokens.weight`). */
  readonly embedTokens: Float32Array;
  readonly layers: readonly LlamaLayerWeights[];
  /** `[hiddenSize]` f32 gain of the final RMSNorm (`model.norm.weight`). */
  readonly norm: Float32Array;
  /** Classifier `[vocabSize, hiddenSize]`: `lm_head.weight`, or `embedTokens` itself when tied. */
  readonly lmHead: Linear;
}
