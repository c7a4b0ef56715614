import type { LlamaConfig } from '@vptq/loader';

/** Tensors by Hugging Face name. */
export type Store = ReadonlyMap<string, Float32Array>;

/** What {@link referenceLogits} takes from outside the `LlamaConfig`, so that a test can state it independently. */
export interface ReferenceOptions {
  /** The angle of pair j at position p is `p · inverseFrequencies[j]`. Default `ropeTheta^(−2j / headDim)`. */
  readonly inverseFrequencies?: ArrayLike<number>;
  /** Whether the query at position q of `layer` sees the key at kv ≤ q. Default: always (plain causal). */
  readonly visible?: (layer: number, q: number, kv: number) => boolean;
}

/** The `rope_scaling` keys of a llama3 config.json, as transformers names them. */
export interface Llama3RopeScalingJson {
  readonly factor: number;
  readonly low_freq_factor: number;
  readonly high_freq_factor: number;
  readonly original_max_position_embeddings: number;
}

/**
 * Test fixture: the llama3 inverse frequencies written from transformers' `_compute_llama3_parameters` (f64, one
 * vectorised-style pass with its `torch.where` masks), independent of the runtime's loop: `inv_freq = 1 /
 * base^(2j / dim)`; `wavelen = 2π / inv_freq`; divided by `factor` where `wavelen > old_context_len /
 * low_freq_factor`; smoothed where `wavelen` lies in `[old / high_freq_factor, old / low_freq_factor]`.
 */
export function llama3InverseFrequencies(dim: number, base: number, scaling: Llama3RopeScalingJson): Float64Array {
  const invFreq = Float64Array.from({ length: dim / 2 }, (_, j) => 1 / base ** ((2 * j) / dim));
  const oldContextLen = scaling.original_max_position_embeddings;
  const lowFreqWavelen = oldContextLen / scaling.low_freq_factor;
  const highFreqWavelen = oldContextLen / scaling.high_freq_factor;
  const wavelen = invFreq.map((f) => (2 * Math.PI) / f);
  const invFreqLlama = invFreq.map((f, i) => (wavelen[i] > lowFreqWavelen ? f / scaling.factor : f));
  const smoothFactor = wavelen.map((w) => (oldContextLen / w - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor));
  const smoothed = invFreqLlama.map((f, i) => ((1 - smoothFactor[i]) * f) / scaling.factor + smoothFactor[i] * f);
  const isMediumFreq = wavelen.map((w) => (!(w < highFreqWavelen) && !(w > lowFreqWavelen) ? 1 : 0));
  return invFreqLlama.map((f, i) => (isMediumFreq[i] ? smoothed[i] : f));
}

/**
 * Test fixture: a straightforward Llama forward pass over a whole sequence from position 0, written from the HF
 * modeling code (f64, no cache, explicit loops, every key of every query scored and masked), independent of the
 * runtime's ops and of the projection table: every projection adds the `<prefix>.bias` that `store` holds,
 * whichever that is. RoPE frequencies and the attention mask come from `options` where given.
 *
 * @returns the logits of every position, `[vocabSize]` f64 each.
 */
export function referenceLogits(config: LlamaConfig, store: Store, tokens: readonly number[], options: ReferenceOptions = {}): Float64Array[] {
  const get = (name: string): Float32Array => store.get(name) as Float32Array;
  const { hiddenSize: hidden, numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = config;
  const linear = (x: Float64Array, prefix: string, outFeatures: number): Float64Array => {
    const weight = get(`${prefix}.weight`);
    const bias = store.get(`${prefix}.bias`);
    const out = new Float64Array(outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < x.length; i++) sum += weight[o * x.length + i] * x[i];
      out[o] = sum;
    }
    return out;
  };
  const norm = (x: Float64Array, name: string): Float64Array => {
    const gain = get(name);
    const rms = Math.sqrt(x.reduce((sum, value) => sum + value * value, 0) / x.length + config.rmsNormEps);
    return x.map((value, i) => (value / rms) * gain[i]);
  };
  const rope = (x: Float64Array, position: number): void => {
    for (let h = 0; h < x.length / headDim; h++) {
      for (let j = 0; j < headDim / 2; j++) {
        const angle = position * (options.inverseFrequencies ? options.inverseFrequencies[j] : config.ropeTheta ** (-(2 * j) / headDim));
        const [a, b] =
          config.ropeLayout === 'interleaved' ? [h * headDim + 2 * j, h * headDim + 2 * j + 1] : [h * headDim + j, h * headDim + j + headDim / 2];
        const [xa, xb] = [x[a], x[b]];
        x[a] = xa * Math.cos(angle) - xb * Math.sin(angle);
        x[b] = xa * Math.sin(angle) + xb * Math.cos(angle);
      }
    }
  };
  const embed = get('model.embed_tokens.weight');
  let states = tokens.map((token) => Float64Array.from(embed.subarray(token * hidden, (token + 1) * hidden)));
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    const keys: Float64Array[] = [];
    const values: Float64Array[] = [];
    const queries: Float64Array[] = [];
    states.forEach((x, position) => {
      const n = norm(x, `${prefix}.input_layernorm.weight`);
      const q = linear(n, `${prefix}.self_attn.q_proj`, heads * headDim);
      const k = linear(n, `${prefix}.self_attn.k_proj`, kvHeads * headDim);
      rope(q, position);
      rope(k, position);
      queries.push(q);
      keys.push(k);
      values.push(linear(n, `${prefix}.self_attn.v_proj`, kvHeads * headDim));
    });
    states = states.map((x, position) => {
      const attended = new Float64Array(heads * headDim);
      for (let h = 0; h < heads; h++) {
        const kv = Math.floor(h / (heads / kvHeads));
        const scores = keys.map((k, p) => {
          if (p > position || (options.visible && !options.visible(layer, position, p))) return 0;
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += queries[position][h * headDim + i] * k[kv * headDim + i];
          return Math.exp(dot / Math.sqrt(headDim));
        });
        const total = scores.reduce((sum, value) => sum + value, 0);
        scores.forEach((score, p) => {
          for (let i = 0; i < headDim; i++) attended[h * headDim + i] += (score / total) * values[p][kv * headDim + i];
        });
      }
      const afterAttention = x.map((value, i) => value + linear(attended, `${prefix}.self_attn.o_proj`, hidden)[i]);
      const m = norm(afterAttention, `${prefix}.post_attention_layernorm.weight`);
      const gate = linear(m, `${prefix}.mlp.gate_proj`, config.intermediateSize);
      const up = linear(m, `${prefix}.mlp.up_proj`, config.intermediateSize);
      const product = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = linear(product, `${prefix}.mlp.down_proj`, hidden);
      return afterAttention.map((value, i) => value + down[i]);
    });
  }
  const classifier = config.tieWordEmbeddings ? 'model.embed_tokens' : 'lm_head';
  return states.map((x) => linear(norm(x, 'model.norm.weight'), classifier, config.vocabSize));
}

/** The rows one after another. */
export function flatten(rows: Float64Array[]): Float64Array {
  const out = new Float64Array(rows.reduce((sum, row) => sum + row.length, 0));
  rows.forEach((row, i) => out.set(row, i * row.length));
  return out;
}
