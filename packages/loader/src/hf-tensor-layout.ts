import type { LlamaConfig } from './model-types';

/** One projection (`nn.Linear`) of a decoder layer, as Hugging Face names and shapes it. */
export interface DecoderLinear {
  /** Module name, e.g. `model.layers.0.self_attn.q_proj`; its tensors are `<module>.weight` and `<module>.bias`. */
  readonly module: string;
  /** Rows of the weight `[outFeatures, inFeatures]`. */
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** The architecture gives this projection a bias `[outFeatures]`. */
  readonly bias: boolean;
}

/** The seven projections of every decoder layer of `config`, layer by layer, in HF module order. */
export function listDecoderLinears(config: LlamaConfig): DecoderLinear[] {
  const hidden = config.hiddenSize;
  const queryDim = config.numAttentionHeads * config.headDim;
  const kvDim = config.numKeyValueHeads * config.headDim;
  const inter = config.intermediateSize;
  // transformers' LlamaAttention also gives o_proj a bias when attention_bias is set; Qwen2 does not.
  const outputBias = config.attentionBias && config.modelType !== 'qwen2';
  const linears: DecoderLinear[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    linears.push(
      { module: `${prefix}.self_attn.q_proj`, outFeatures: queryDim, inFeatures: hidden, bias: config.attentionBias },
      { module: `${prefix}.self_attn.k_proj`, outFeatures: kvDim, inFeatures: hidden, bias: config.attentionBias },
      { module: `${prefix}.self_attn.v_proj`, outFeatures: kvDim, inFeatures: hidden, bias: config.attentionBias },
      { module: `${prefix}.self_attn.o_proj`, outFeatures: hidden, inFeatures: queryDim, bias: outputBias },
      { module: `${prefix}.mlp.gate_proj`, outFeatures: inter, inFeatures: hidden, bias: false },
      { module: `${prefix}.mlp.up_proj`, outFeatures: inter, inFeatures: hidden, bias: false },
      { module: `${prefix}.mlp.down_proj`, outFeatures: hidden, inFeatures: inter, bias: false },
    );
  }
  return linears;
}

/**
 * Every tensor a Llama-family decoder of `config` needs, with its shape: embeddings, per layer the two norms,
 * the projection weights and biases, the final norm and (untied) `lm_head`.
 */
export function requiredHfTensors(config: LlamaConfig): Array<readonly [string, readonly number[]]> {
  const hidden = config.hiddenSize;
  const linears = listDecoderLinears(config);
  const required: Array<readonly [string, readonly number[]]> = [['model.embed_tokens.weight', [config.vocabSize, hidden]]];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    const own = linears.slice(layer * 7, layer * 7 + 7);
    const weight = (linear: DecoderLinear): readonly [string, readonly number[]] => [`${linear.module}.weight`, [linear.outFeatures, linear.inFeatures]];
    required.push([`${prefix}.input_layernorm.weight`, [hidden]], ...own.slice(0, 4).map(weight));
    required.push([`${prefix}.post_attention_layernorm.weight`, [hidden]], ...own.slice(4).map(weight));
    for (const linear of own) if (linear.bias) required.push([`${linear.module}.bias`, [linear.outFeatures]]);
  }
  required.push(['model.norm.weight', [hidden]]);
  if (!config.tieWordEmbeddings) required.push(['lm_head.weight', [config.vocabSize, hidden]]);
  return required;
}
