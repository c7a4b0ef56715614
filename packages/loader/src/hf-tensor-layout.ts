import { decoderLinears, listLinearSpecs } from './decoder-linears';
import type { LinearSpec } from './decoder-linears';
import type { LlamaConfig } from './model-types';

/**
 * Every tensor a Llama-family decoder of `config` needs, with its shape: embeddings, per layer the two norms,
 * the projection weights and biases, the final norm and (untied) `lm_head`.
 */
export function requiredHfTensors(config: LlamaConfig): Array<readonly [string, readonly number[]]> {
  const hidden = config.hiddenSize;
  const specs = listLinearSpecs(config);
  const attention = new Set(decoderLinears.filter((linear) => linear.module === 'self_attn').map((linear) => linear.name));
  const required: Array<readonly [string, readonly number[]]> = [['model.embed_tokens.weight', [config.vocabSize, hidden]]];
  const weight = (spec: LinearSpec): readonly [string, readonly number[]] => [`${spec.prefix}.weight`, [spec.outFeatures, spec.inFeatures]];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    const own = specs.filter((spec) => spec.layer === layer);
    required.push([`${prefix}.input_layernorm.weight`, [hidden]], ...own.filter((spec) => attention.has(spec.name)).map(weight));
    required.push([`${prefix}.post_attention_layernorm.weight`, [hidden]], ...own.filter((spec) => !attention.has(spec.name)).map(weight));
    for (const spec of own) if (spec.bias) required.push([`${spec.prefix}.bias`, [spec.outFeatures]]);
  }
  required.push(['model.norm.weight', [hidden]]);
  if (!config.tieWordEmbeddings) required.push(['lm_head.weight', [config.vocabSize, hidden]]);
  return required;
}
