/**
 * The config.json files of three published checkpoints, copied by hand field for field from the Hugging Face hub
 * (meta-llama/Llama-3.2-1B, Qwen/Qwen2.5-0.5B, mistralai/Mistral-7B-v0.1), so that tests read exactly what users
 * download: Llama 3's `rope_scaling` of type llama3, Qwen2's tied embeddings and its (disabled) sliding-window
 * keys, Mistral's sliding window. Tests shrink the sizes and keep every other field.
 */
export const publishedConfigs = {
  'Llama-3.2-1B': {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 128000,
    eos_token_id: 128001,
    head_dim: 64,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 8192,
    max_position_embeddings: 131072,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: 32,
    num_hidden_layers: 16,
    num_key_value_heads: 8,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 8192,
      rope_type: 'llama3',
    },
    rope_theta: 500000.0,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 128256,
  },
  'Qwen2.5-0.5B': {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151643,
    hidden_act: 'silu',
    hidden_size: 896,
    initializer_range: 0.02,
    intermediate_size: 4864,
    max_position_embeddings: 32768,
    max_window_layers: 24,
    model_type: 'qwen2',
    num_attention_heads: 14,
    num_hidden_layers: 24,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    use_mrope: false,
    use_sliding_window: false,
    vocab_size: 151936,
  },
  'Mistral-7B-v0.1': {
    architectures: ['MistralForCausalLM'],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: 4096,
    initializer_range: 0.02,
    intermediate_size: 14336,
    max_position_embeddings: 32768,
    model_type: 'mistral',
    num_attention_heads: 32,
    num_hidden_layers: 32,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    sliding_window: 4096,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 32000,
  },
} as const satisfies Record<string, Record<string, unknown>>;

/** A checkpoint whose config.json {@link publishedConfigs} holds. */
export type PublishedModel = keyof typeof publishedConfigs;

/** The sizes a test model keeps of a published config; every other field is the published one. */
export interface TestModelSizes {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
}

/**
 * A copy of a published config.json at test sizes: the size fields replaced (and `head_dim` where the config
 * states one, as hiddenSize / numAttentionHeads), every other field kept, then `overrides` (the family's shrunk
 * window or RoPE context, say) on top.
 *
 * @throws {RangeError} when the sizes break the published model's head rule or GQA ratio.
 */
export function shrinkPublishedConfig(model: PublishedModel, sizes: TestModelSizes, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const published: Record<string, unknown> = publishedConfigs[model];
  const heads = published.num_attention_heads as number;
  const kvHeads = published.num_key_value_heads as number;
  if (sizes.hiddenSize % sizes.numAttentionHeads !== 0) {
    throw new RangeError(`shrinkPublishedConfig: numAttentionHeads must divide hiddenSize (got ${sizes.numAttentionHeads} and ${sizes.hiddenSize})`);
  }
  if (sizes.numAttentionHeads * kvHeads !== sizes.numKeyValueHeads * heads) {
    throw new RangeError(
      `shrinkPublishedConfig: ${model} has ${heads / kvHeads} query heads per KV head; keep the ratio (got ${sizes.numAttentionHeads} and ${sizes.numKeyValueHeads})`,
    );
  }
  return {
    ...structuredClone(published),
    hidden_size: sizes.hiddenSize,
    intermediate_size: sizes.intermediateSize,
    num_hidden_layers: sizes.numHiddenLayers,
    num_attention_heads: sizes.numAttentionHeads,
    num_key_value_heads: sizes.numKeyValueHeads,
    vocab_size: sizes.vocabSize,
    max_position_embeddings: sizes.maxPositionEmbeddings,
    ...('head_dim' in published ? { head_dim: sizes.hiddenSize / sizes.numAttentionHeads } : {}),
    ...overrides,
  };
}
