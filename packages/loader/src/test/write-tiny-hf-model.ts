import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeSafetensors, f32ToBf16Bits, f32ToF16Bits } from '@vptq/pack-format/safetensors';
import type { SafetensorsDtype } from '@vptq/pack-format/safetensors';
import { randomFloats } from '@vptq/test-utils';

import { requiredHfTensors } from '../hf-tensor-layout';
import { parseHfConfig } from '../parse-hf-config';

/** Options of {@link writeTinyHfModel} (test-only). */
export interface TinyHfModelOptions {
  readonly architecture?: 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM';
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  /** Split the tensors over this many shards with an index (default 1: a single model.safetensors). */
  readonly shards?: number;
  readonly tie?: boolean;
  readonly config?: Record<string, unknown>;
  readonly seed?: number;
}

/** A written tiny model: its directory, config.json object, and every tensor's exact f32 values. */
export interface TinyHfModel {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  readonly tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }>;
}

/**
 * Writes a tiny random Llama-family HF directory: hidden 8, 2 heads of 4, 1 KV head, FFN 12, 2 layers, vocab 10,
 * unless `options.config` sets other fields (the tensors follow the config as the loader parses it, so it must be
 * valid). Values are rounded through the storage dtype first, so `values` is exactly what a reader must return.
 */
export function writeTinyHfModel(dir: string, options: TinyHfModelOptions = {}): TinyHfModel {
  const architecture = options.architecture ?? 'LlamaForCausalLM';
  const dtype = options.dtype ?? 'F32';
  const tie = options.tie ?? false;
  const qwen = architecture === 'Qwen2ForCausalLM';
  const modelType = qwen ? 'qwen2' : architecture === 'MistralForCausalLM' ? 'mistral' : 'llama';
  const config: Record<string, unknown> = {
    architectures: [architecture],
    model_type: modelType,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 10,
    max_position_embeddings: 32,
    rms_norm_eps: 1e-6,
    rope_theta: 500000,
    tie_word_embeddings: tie,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    ...options.config,
  };
  // The tensors the loader requires of this config, in its order (q/k/v biases for Qwen2 or attention_bias,
  // o_proj's too for attention_bias outside Qwen2), at whatever sizes `options.config` gives.
  const layout = parseHfConfig('writeTinyHfModel', join(dir, 'config.json'), config);
  const shapes = requiredHfTensors(layout).map(([name, shape]): [string, number[]] => [name, [...shape]]);

  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  const inputs = shapes.map(([name, shape], index) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const raw = randomFloats(count, (options.seed ?? 1) * 1000 + index, 0.5);
    let data: ArrayBufferView = raw;
    let values = raw;
    if (dtype !== 'F32') {
      const toBits = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
      const bits = Uint16Array.from(raw, (value) => toBits(value));
      data = bits;
      // Rounded values, computed independently of the reader: f16/bf16 → f32 through their bit layouts.
      values = Float32Array.from(bits, (b) => (dtype === 'F16' ? f16ToNumber(b) : bf16ToNumber(b)));
    }
    tensors.set(name, { shape, values });
    return { name, dtype: dtype as SafetensorsDtype, shape, data };
  });

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const shards = options.shards ?? 1;
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat(encodeSafetensors(inputs, { format: 'pt' })));
  } else {
    const weightMap: Record<string, string> = {};
    for (let shard = 0; shard < shards; shard++) {
      const file = `model-${String(shard + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = inputs.filter((_, index) => index % shards === shard);
      for (const input of part) weightMap[input.name] = file;
      writeFileSync(join(dir, file), Buffer.concat(encodeSafetensors(part, { format: 'pt' })));
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return { dir, config, tensors };
}

/** An f16 bit pattern's value, decoded from its fields (independent of the reader's decoder). */
export function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A bf16 bit pattern's value: the upper half of an f32. */
export function bf16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}
