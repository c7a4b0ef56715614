import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { createRandom } from '@vptq/kmeans';
import { listLinearSpecs } from '@vptq/loader';
import type { LlamaConfig } from '@vptq/loader';
import { encodeSafetensors } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';

import { writeFileAtomic } from '../../quantize/write-atomic';

/** The shape of a synthetic Llama model: LLaMA-2-7B's by default. */
export interface SyntheticModelShape {
  readonly layers: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly heads: number;
  readonly vocab: number;
  readonly contextLength: number;
}

/** LLaMA-2-7B: 32 layers, 4096 wide, MLP 11008, 32 heads, vocabulary 32000, 4096 positions. */
export const llama2_7bShape: SyntheticModelShape = { layers: 32, hidden: 4096, intermediate: 11008, heads: 32, vocab: 32000, contextLength: 4096 };

/** Bytes per shard file, about (whole tensors, so a shard may hold a little more). */
const shardBytes = 2 * 1024 ** 3;

/**
 * Writes a Hugging Face Llama directory of seeded random bf16 weights in `shape`, sharded as published models are
 * (`model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`), with the tokenizer files of
 * `tokenizerDir` (a smaller vocabulary is fine: its ids are valid ids of the model). Projections are uniform with
 * the variance of `nn.Linear`'s default init scaled down (1/(3·in)), embeddings uniform ±0.05, norm gains 1, so
 * activations stay finite through every layer. Memory: one shard at a time.
 *
 * @returns the bytes written.
 */
export function writeSyntheticModel(dir: string, shape: SyntheticModelShape, tokenizerDir: string, seed = 0): number {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`synthetic-model: ${dir} is not empty`);
  mkdirSync(dir, { recursive: true });
  const config: LlamaConfig = {
    modelType: 'llama',
    hiddenSize: shape.hidden,
    intermediateSize: shape.intermediate,
    numHiddenLayers: shape.layers,
    numAttentionHeads: shape.heads,
    numKeyValueHeads: shape.heads,
    headDim: shape.hidden / shape.heads,
    vocabSize: shape.vocab,
    maxPositionEmbeddings: shape.contextLength,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  // Tensors in model order; each is generated only when its shard is written.
  const tensors: { name: string; shape: number[]; scale: number; constant?: number }[] = [
    { name: 'model.embed_tokens.weight', shape: [shape.vocab, shape.hidden], scale: 0.05 },
  ];
  const specs = listLinearSpecs(config);
  for (let layer = 0; layer < shape.layers; layer++) {
    tensors.push({ name: `model.layers.${layer}.input_layernorm.weight`, shape: [shape.hidden], scale: 0, constant: 1 });
    for (const spec of specs.filter((candidate) => candidate.layer === layer)) {
      tensors.push({ name: `${spec.prefix}.weight`, shape: [spec.outFeatures, spec.inFeatures], scale: 1 / Math.sqrt(spec.inFeatures) });
    }
    tensors.push({ name: `model.layers.${layer}.post_attention_layernorm.weight`, shape: [shape.hidden], scale: 0, constant: 1 });
  }
  tensors.push({ name: 'model.norm.weight', shape: [shape.hidden], scale: 0, constant: 1 });
  tensors.push({ name: 'lm_head.weight', shape: [shape.vocab, shape.hidden], scale: 0.05 });

  const shards: (typeof tensors)[] = [[]];
  let bytes = 0;
  for (const tensor of tensors) {
    const size = tensor.shape.reduce((product, dimension) => product * dimension, 1) * 2;
    if (bytes > 0 && bytes + size > shardBytes) {
      shards.push([]);
      bytes = 0;
    }
    shards.at(-1)?.push(tensor);
    bytes += size;
  }
  const random = createRandom(seed);
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((shard, index) => {
    const file = `model-${String(index + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const inputs: SafetensorsTensorInput[] = shard.map((tensor) => {
      const count = tensor.shape.reduce((product, dimension) => product * dimension, 1);
      const data = new Uint16Array(count);
      fillBf16(data, tensor.constant, tensor.scale, (random() * 0xffffffff) | 1);
      weightMap[tensor.name] = file;
      return { name: tensor.name, dtype: 'BF16', shape: tensor.shape, data };
    });
    const chunks = encodeSafetensors(inputs, { format: 'pt' });
    writeFileAtomic(join(dir, file), chunks);
    total += chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  });
  writeFileAtomic(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  writeFileAtomic(
    join(dir, 'config.json'),
    `${JSON.stringify(
      {
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        hidden_size: shape.hidden,
        intermediate_size: shape.intermediate,
        num_hidden_layers: shape.layers,
        num_attention_heads: shape.heads,
        num_key_value_heads: shape.heads,
        vocab_size: shape.vocab,
        max_position_embeddings: shape.contextLength,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        hidden_act: 'silu',
        tie_word_embeddings: false,
        attention_bias: false,
        bos_token_id: 1,
        eos_token_id: 2,
        torch_dtype: 'bfloat16',
      },
      null,
      2,
    )}\n`,
  );
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(tokenizerDir, name))) copyFileSync(join(tokenizerDir, name), join(dir, name));
  }
  if (!existsSync(join(dir, 'tokenizer.json'))) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`synthetic-model: ${tokenizerDir} has no tokenizer.json`);
  }
  return total;
}

/** Fills `data` with bf16 bits of `constant`, or of values uniform in ±scale from a xorshift32 stream. */
function fillBf16(data: Uint16Array, constant: number | undefined, scale: number, seed: number): void {
  const piece = new Float32Array(1 << 20);
  const bits = new Uint32Array(piece.buffer);
  let state = seed >>> 0 || 1;
  const step = (2 * scale) / 4294967296;
  for (let start = 0; start < data.length; start += piece.length) {
    const count = Math.min(piece.length, data.length - start);
    if (constant !== undefined) piece.fill(constant, 0, count);
    else {
      for (let i = 0; i < count; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        piece[i] = (state >>> 0) * step - scale;
      }
    }
    // bf16 by truncation: the high half of the f32 bits.
    for (let i = 0; i < count; i++) data[start + i] = bits[i] >>> 16;
  }
}
