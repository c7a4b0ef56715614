import type { LlamaConfig } from '@vptq/loader';

/** Tensors by Hugging Face name. */
export type Store = ReadonlyMap<string, Float32Array>;

/**
 * Test fixture: a straightforward Llama forward pass over a whole sequence from position 0, written from the HF
 * modeling code (f64, no cache, explicit loops), independent of the runtime's ops and of the projection table:
 * every projection adds the `<prefix>.bias` that `store` holds, whichever that is.
 *
 * @returns the logits of every position, `[vocabSize]` f64 each.
 */
export function referenceLogits(config: LlamaConfig, store: Store, tokens: readonly number[]): Float64Array[] {
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
        const angle = position * config.ropeTheta ** (-(2 * j) / headDim);
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
        const scores = keys.slice(0, position + 1).map((k) => {
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
