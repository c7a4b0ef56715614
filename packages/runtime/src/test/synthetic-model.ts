import { listLinearSpecs } from '@vptq/loader';
import type { LlamaConfig, ModelSource, TensorInfo, Tokenizer } from '@vptq/loader';
import { randomFloats } from '@vptq/test-utils';

/**
 * Test helper (not exported from the package): a tiny in-memory Llama config with seeded random tensors.
 * Every tensor is uniform in ±scale and never zero; norm gains are around 1 so activations stay O(1).
 */
export function createSyntheticSource(overrides: Partial<LlamaConfig> = {}, seed = 1): ModelSource & { readonly store: Map<string, Float32Array> } {
  const config: LlamaConfig = {
    modelType: 'llama',
    hiddenSize: 24,
    intermediateSize: 40,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 6,
    vocabSize: 37,
    maxPositionEmbeddings: 32,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tieWordEmbeddings: true,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenId: 2,
    ...overrides,
  };
  const store = new Map<string, Float32Array>();
  let next = seed * 1000;
  const put = (name: string, count: number, scale: number, offset = 0): void => {
    const values = randomFloats(count, next++, scale);
    if (offset !== 0) for (let i = 0; i < count; i++) values[i] += offset;
    store.set(name, values);
  };
  const hidden = config.hiddenSize;
  put('model.embed_tokens.weight', config.vocabSize * hidden, 1);
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    put(`model.layers.${layer}.input_layernorm.weight`, hidden, 0.3, 1);
    put(`model.layers.${layer}.post_attention_layernorm.weight`, hidden, 0.3, 1);
  }
  for (const spec of listLinearSpecs(config)) {
    put(`${spec.prefix}.weight`, spec.outFeatures * spec.inFeatures, 1 / Math.sqrt(spec.inFeatures));
    if (spec.bias) put(`${spec.prefix}.bias`, spec.outFeatures, 0.5);
  }
  put('model.norm.weight', hidden, 0.3, 1);
  if (!config.tieWordEmbeddings) put('lm_head.weight', config.vocabSize * hidden, 1);

  const tensors: TensorInfo[] = [...store.entries()].map(([name, values]) => ({ name, dtype: 'F32', shape: [values.length] }));
  return {
    path: 'synthetic',
    format: 'hf',
    config,
    tensors,
    store,
    readTensor(name: string): Float32Array {
      const values = store.get(name);
      if (!values) throw new Error(`synthetic source has no tensor ${name}`);
      return values.slice();
    },
    async prefetch(): Promise<void> {},
    close(): void {},
  };
}

/**
 * Test helper: {@link createSyntheticSource} at the sizes a Hugging Face config.json states (hidden, FFN, layers,
 * heads, KV heads, head_dim or hidden / heads, vocab, context), with the biases and tying its architecture
 * implies (Qwen2 q/k/v, Llama `attention_bias`), read here from the JSON as written, so that the loader's reading
 * of the same file can be checked against it.
 */
export function createSyntheticSourceForHfConfig(json: Record<string, unknown>, seed = 1): ReturnType<typeof createSyntheticSource> {
  const size = (key: string): number => json[key] as number;
  return createSyntheticSource(
    {
      modelType: json.model_type as LlamaConfig['modelType'],
      hiddenSize: size('hidden_size'),
      intermediateSize: size('intermediate_size'),
      numHiddenLayers: size('num_hidden_layers'),
      numAttentionHeads: size('num_attention_heads'),
      numKeyValueHeads: size('num_key_value_heads'),
      headDim: (json.head_dim as number | undefined) ?? size('hidden_size') / size('num_attention_heads'),
      vocabSize: size('vocab_size'),
      maxPositionEmbeddings: size('max_position_embeddings'),
      ropeLayout: 'half',
      tieWordEmbeddings: json.tie_word_embeddings === true,
      attentionBias: json.model_type === 'qwen2' || json.attention_bias === true,
    },
    seed,
  );
}

/**
 * Test helper: a character tokenizer over `alphabet`: id 0 unknown, 1 BOS, 2 EOS, then one id per
 * character. Encoding has no dummy prefix; decoding a token prints its character.
 */
export function createCharTokenizer(alphabet = 'abcdefghijklmnopqrstuvwxyz .,\n'): Tokenizer {
  const idOf = new Map([...alphabet].map((character, index) => [character, index + 3]));
  const piece = (id: number): string => (id >= 3 ? alphabet[id - 3] : '');
  return {
    vocabSize: alphabet.length + 3,
    bosId: 1,
    eosId: 2,
    encode(text, options = {}): number[] {
      const ids = [...text].map((character) => idOf.get(character) ?? 0);
      if (options.bos) ids.unshift(1);
      if (options.eos) ids.push(2);
      return ids;
    },
    decode(ids): string {
      return ids.map(piece).join('');
    },
    decodeToken(_previous, token): string {
      return piece(token);
    },
  };
}
