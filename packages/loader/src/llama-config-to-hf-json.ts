import type { LlamaConfig } from './model-types';

const architectureOf = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' } as const;

/**
 * The Hugging Face `config.json` object of a model with `config` (its `modelType`'s architecture, f32 weights,
 * `attention_bias` as `config.attentionBias`, `rope_scaling` from `config.ropeScaling` or null, and for a sliding
 * window Mistral's `sliding_window` or Qwen2's `use_sliding_window` with `layer_types`), as `openHfModel` reads
 * it back.
 *
 * @throws {RangeError} for a sliding window the architecture cannot express (Llama has none; Mistral's covers every layer).
 */
export function llamaConfigToHfJson(config: LlamaConfig): Record<string, unknown> {
  const scaling = config.ropeScaling;
  return {
    architectures: [architectureOf[config.modelType]],
    model_type: config.modelType,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: config.headDim,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: scaling
      ? {
          rope_type: scaling.type,
          factor: scaling.factor,
          low_freq_factor: scaling.lowFreqFactor,
          high_freq_factor: scaling.highFreqFactor,
          original_max_position_embeddings: scaling.originalMaxPositionEmbeddings,
        }
      : null,
    hidden_act: 'silu',
    attention_bias: config.attentionBias,
    attention_dropout: 0,
    mlp_bias: false,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    torch_dtype: 'float32',
    ...slidingWindowJson(config),
  };
}

function slidingWindowJson(config: LlamaConfig): Record<string, unknown> {
  const window = config.slidingWindow;
  // Mistral's window is on unless the key says null; without one, null keeps a Mistral model windowless.
  if (!window) return config.modelType === 'mistral' ? { sliding_window: null } : {};
  const layers = new Set(window.layers);
  if (config.modelType === 'qwen2') {
    return {
      use_sliding_window: true,
      sliding_window: window.size,
      layer_types: Array.from({ length: config.numHiddenLayers }, (_, layer) => (layers.has(layer) ? 'sliding_attention' : 'full_attention')),
    };
  }
  if (config.modelType === 'mistral' && layers.size === config.numHiddenLayers) return { sliding_window: window.size };
  throw new RangeError(
    `llamaConfigToHfJson: config.slidingWindow cannot be written for ${config.modelType} (layers ${window.layers.join(', ')} of ${config.numHiddenLayers}): Llama has no sliding window and Mistral's covers every layer`,
  );
}
