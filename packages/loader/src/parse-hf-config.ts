import { describeJson as describe } from './describe-json';
import { findDeclaredQuantization } from './find-declared-quantization';
import { LoaderError } from './loader-error';
import type { LlamaConfig } from './model-types';
import { parseRopeConfig } from './parse-rope-config';
import { parseSlidingWindow } from './parse-sliding-window';

const architectures = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
} as const;

/**
 * Maps a Hugging Face Llama-family config.json to a {@link LlamaConfig} (`ropeLayout: 'half'`), checking every
 * field it uses. Defaults follow transformers: num_key_value_heads = num_attention_heads, head_dim =
 * hidden_size / num_attention_heads, rope_theta 10000, tie_word_embeddings false, attention_bias false (always
 * true for Qwen2's q/k/v, rejected for Mistral). RoPE scaling is read by {@link parseRopeConfig} (llama3 or
 * none), the sliding window by {@link parseSlidingWindow} (Mistral; Qwen2 with use_sliding_window). A
 * quantization declaration (see {@link findDeclaredQuantization}) is rejected unless it is VPTQ and
 * `options.allowVptq` is set; the VPTQ layer configs themselves are read elsewhere.
 */
export function parseHfConfig(
  fn: string,
  path: string,
  json: Record<string, unknown>,
  options: { readonly allowVptq?: boolean } = {},
): LlamaConfig {
  const fail = (field: string, rule: string): LoaderError =>
    new LoaderError('VPTQ_LOADER_BAD_CONFIG', `${fn}: ${path}: ${field} ${rule}`, { path, field });

  const declared = json.architectures;
  if (!Array.isArray(declared) || declared.length === 0) {
    throw fail('architectures', `must be a non-empty array (got ${describe(declared)})`);
  }
  const architecture = declared.find((name): name is keyof typeof architectures => Object.hasOwn(architectures, name));
  if (architecture === undefined) {
    throw fail(
      'architectures',
      `must name LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM (got ${describe(declared)})`,
    );
  }
  const modelType = architectures[architecture];

  const integer = (field: string, fallback?: number): number => {
    const value = json[field] ?? fallback;
    if (value === undefined) throw fail(field, 'is missing');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw fail(field, `must be a positive integer (got ${describe(value)})`);
    }
    return value;
  };
  const positive = (field: string, fallback?: number): number => {
    const value = json[field] ?? fallback;
    if (value === undefined) throw fail(field, 'is missing');
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw fail(field, `must be a positive number (got ${describe(value)})`);
    }
    return value;
  };
  const flag = (field: string, fallback: boolean): boolean => {
    const value = json[field] ?? fallback;
    if (typeof value !== 'boolean') throw fail(field, `must be a boolean (got ${describe(value)})`);
    return value;
  };
  const tokenId = (field: string): number | undefined => {
    const raw = json[field];
    // transformers allows a list of EOS ids (Llama 3); the first is the canonical one.
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw fail(field, `must be a non-negative integer or a list of them (got ${describe(raw)})`);
    }
    return value;
  };

  const quantization = findDeclaredQuantization(json);
  if (quantization !== undefined && !(options.allowVptq === true && quantization.method === 'vptq')) {
    throw fail(
      quantization.field,
      quantization.method === 'vptq'
        ? `says the weights are VPTQ-packed (quant_method "vptq"); ${fn} reads unquantized F32/F16/BF16 weights only, open the directory with openVptqModel or openModel`
        : `says the weights are quantized (quant_method ${describe(quantization.method)}); only unquantized F32/F16/BF16 weights and VPTQ (quant_method "vptq") are supported`,
    );
  }
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') {
    throw fail('hidden_act', `must be "silu" (got ${describe(json.hidden_act)})`);
  }
  if (json.mlp_bias === true) throw fail('mlp_bias', 'is not supported; expected false');
  // MistralAttention builds q/k/v/o without biases whatever the config says; a checkpoint that has them was not
  // made by that architecture.
  if (modelType === 'mistral' && json.attention_bias === true) {
    throw fail('attention_bias', 'must be false or absent for MistralForCausalLM, whose attention has no biases in transformers (got true)');
  }

  const hiddenSize = integer('hidden_size');
  const numAttentionHeads = integer('num_attention_heads');
  const numKeyValueHeads = integer('num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw fail(
      'num_key_value_heads',
      `must divide num_attention_heads (got ${numKeyValueHeads} and ${numAttentionHeads})`,
    );
  }
  if (json.head_dim === undefined && hiddenSize % numAttentionHeads !== 0) {
    throw fail('num_attention_heads', `must divide hidden_size when head_dim is absent (got ${numAttentionHeads} and ${hiddenSize})`);
  }
  const headDim = integer('head_dim', hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw fail('head_dim', `must be even for RoPE (got ${headDim})`);
  const numHiddenLayers = integer('num_hidden_layers');
  const maxPositionEmbeddings = integer('max_position_embeddings');
  const { ropeTheta, ropeScaling } = parseRopeConfig(json, maxPositionEmbeddings, fail);
  const slidingWindow = parseSlidingWindow(json, modelType, numHiddenLayers, fail);

  const config: LlamaConfig = {
    modelType,
    hiddenSize,
    intermediateSize: integer('intermediate_size'),
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    vocabSize: integer('vocab_size'),
    maxPositionEmbeddings,
    rmsNormEps: positive('rms_norm_eps'),
    ropeTheta,
    ropeLayout: 'half',
    tieWordEmbeddings: flag('tie_word_embeddings', false),
    attentionBias: modelType === 'qwen2' ? true : flag('attention_bias', false),
  };
  const bosTokenId = tokenId('bos_token_id');
  const eosTokenId = tokenId('eos_token_id');
  return {
    ...config,
    ...(ropeScaling === undefined ? {} : { ropeScaling }),
    ...(slidingWindow === undefined ? {} : { slidingWindow }),
    ...(bosTokenId === undefined ? {} : { bosTokenId }),
    ...(eosTokenId === undefined ? {} : { eosTokenId }),
  };
}
