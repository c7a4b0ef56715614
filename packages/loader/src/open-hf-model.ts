import { join } from 'node:path';

import { decodeTensorF32 } from '@vptq/pack-format';

import { assertFinite, closeFile, fromLittleEndian, readExact } from './file-range';
import { LoaderError } from './loader-error';
import type { LlamaConfig, ModelSource, TensorInfo } from './model-types';
import { parseHfConfig } from './parse-hf-config';
import { readJsonObject } from './read-json-file';
import { openSafetensorsFiles } from './safetensors-files';
import type { LocatedTensor } from './safetensors-files';

const fn = 'openHfModel';
const floatDtypes = new Set(['F32', 'F16', 'BF16']);

/**
 * Opens a Hugging Face Llama-family model directory (`LlamaForCausalLM`, `MistralForCausalLM`,
 * `Qwen2ForCausalLM`) for lazy reading: config.json plus `model.safetensors` or the shards named by
 * `model.safetensors.index.json`. Only headers are read here; each {@link ModelSource.readTensor} call reads one
 * tensor at its offset and widens F16/BF16 exactly to f32.
 *
 * Every tensor the architecture needs is checked against the config when opening: present, F32/F16/BF16, and
 * of the expected shape (`q_proj` `[heads·headDim, hidden]`, `k_proj`/`v_proj` `[kvHeads·headDim, hidden]`,
 * `o_proj` `[hidden, heads·headDim]`, `gate_proj`/`up_proj` `[intermediate, hidden]`, `down_proj`
 * `[hidden, intermediate]`, norms `[hidden]`, `embed_tokens`/`lm_head` `[vocab, hidden]`, Qwen2 q/k/v biases).
 * `config.ropeLayout` is `'half'` (HF rotate_half).
 *
 * @param dir - The model directory.
 * @returns A ModelSource with `format: 'hf'`; call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND (config.json, weights or a shard), VPTQ_LOADER_BAD_CONFIG,
 * VPTQ_LOADER_BAD_SAFETENSORS / VPTQ_LOADER_TRUNCATED (header length, offsets, index), VPTQ_LOADER_UNKNOWN_TENSOR
 * (a required tensor is absent), VPTQ_LOADER_SHAPE_MISMATCH, VPTQ_LOADER_UNSUPPORTED_DTYPE; each names the file
 * and the tensor or field. readTensor adds VPTQ_LOADER_NOT_FINITE and VPTQ_LOADER_CLOSED.
 */
export function openHfModel(dir: string): ModelSource {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`openHfModel: dir must be a non-empty string (got ${String(dir)})`);
  }
  const configPath = join(dir, 'config.json');
  const json = readJsonObject(fn, configPath, 'VPTQ_LOADER_BAD_CONFIG', false) as Record<string, unknown>;
  const config = parseHfConfig(fn, configPath, json);
  const { files, tensors, weightsPath } = openSafetensorsFiles(fn, dir);
  try {
    checkTensors(config, tensors, weightsPath);
  } catch (error) {
    for (const file of files) closeFile(file);
    throw error;
  }

  const byName = new Map(tensors.map((tensor) => [tensor.info.name, tensor]));
  const infos: TensorInfo[] = tensors.map(({ info }) => ({
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
  }));
  let open = true;
  return {
    path: dir,
    format: 'hf',
    config,
    tensors: infos,
    readTensor(name: string): Float32Array {
      const located = byName.get(name);
      if (!located) {
        throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `readTensor: ${dir} has no tensor ${name}`, {
          path: dir,
          tensor: name,
        });
      }
      const { info, file } = located;
      if (!open) {
        throw new LoaderError('VPTQ_LOADER_CLOSED', `readTensor: ${dir} was closed before reading ${name}`, {
          path: file.path,
          tensor: name,
        });
      }
      if (!floatDtypes.has(info.dtype)) throw unsupportedDtype(file.path, info.name, info.dtype);
      let values: Float32Array;
      if (info.dtype === 'F32') {
        // Read straight into the result: no second copy of the largest tensors.
        values = new Float32Array(info.byteLength / 4);
        const bytes = new Uint8Array(values.buffer);
        readExact('readTensor', file, bytes, info.byteOffset, { tensor: name });
        fromLittleEndian(bytes, 4);
      } else {
        const bytes = new Uint8Array(info.byteLength);
        readExact('readTensor', file, bytes, info.byteOffset, { tensor: name });
        values = decodeTensorF32(bytes, info.dtype, name);
      }
      assertFinite('readTensor', file.path, name, values);
      return values;
    },
    close(): void {
      if (!open) return;
      open = false;
      for (const file of files) closeFile(file);
    },
  };
}

/** The tensors a Llama-family decoder of `config` needs, with their shapes. */
function requiredTensors(config: LlamaConfig): Array<readonly [string, readonly number[]]> {
  const hidden = config.hiddenSize;
  const queryDim = config.numAttentionHeads * config.headDim;
  const kvDim = config.numKeyValueHeads * config.headDim;
  const inter = config.intermediateSize;
  const required: Array<readonly [string, readonly number[]]> = [['model.embed_tokens.weight', [config.vocabSize, hidden]]];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    required.push(
      [`${prefix}.input_layernorm.weight`, [hidden]],
      [`${prefix}.self_attn.q_proj.weight`, [queryDim, hidden]],
      [`${prefix}.self_attn.k_proj.weight`, [kvDim, hidden]],
      [`${prefix}.self_attn.v_proj.weight`, [kvDim, hidden]],
      [`${prefix}.self_attn.o_proj.weight`, [hidden, queryDim]],
      [`${prefix}.post_attention_layernorm.weight`, [hidden]],
      [`${prefix}.mlp.gate_proj.weight`, [inter, hidden]],
      [`${prefix}.mlp.up_proj.weight`, [inter, hidden]],
      [`${prefix}.mlp.down_proj.weight`, [hidden, inter]],
    );
    if (config.attentionBias) {
      required.push(
        [`${prefix}.self_attn.q_proj.bias`, [queryDim]],
        [`${prefix}.self_attn.k_proj.bias`, [kvDim]],
        [`${prefix}.self_attn.v_proj.bias`, [kvDim]],
      );
      // transformers' LlamaAttention also gives o_proj a bias when attention_bias is set; Qwen2 does not.
      if (config.modelType !== 'qwen2') required.push([`${prefix}.self_attn.o_proj.bias`, [hidden]]);
    }
  }
  required.push(['model.norm.weight', [hidden]]);
  if (!config.tieWordEmbeddings) required.push(['lm_head.weight', [config.vocabSize, hidden]]);
  return required;
}

function checkTensors(config: LlamaConfig, tensors: readonly LocatedTensor[], weightsPath: string): void {
  const byName = new Map(tensors.map((tensor) => [tensor.info.name, tensor]));
  for (const [name, shape] of requiredTensors(config)) {
    const located = byName.get(name);
    if (!located) {
      throw new LoaderError(
        'VPTQ_LOADER_UNKNOWN_TENSOR',
        `${fn}: ${weightsPath}: required tensor ${name} [${shape.join(', ')}] is missing`,
        { path: weightsPath, tensor: name },
      );
    }
    const { info, file } = located;
    if (!floatDtypes.has(info.dtype)) throw unsupportedDtype(file.path, name, info.dtype);
    if (info.shape.length !== shape.length || info.shape.some((size, axis) => size !== shape[axis])) {
      throw new LoaderError(
        'VPTQ_LOADER_SHAPE_MISMATCH',
        `${fn}: ${file.path}: tensor ${name} has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
        { path: file.path, tensor: name },
      );
    }
  }
}

function unsupportedDtype(path: string, tensor: string, dtype: string): LoaderError {
  return new LoaderError(
    'VPTQ_LOADER_UNSUPPORTED_DTYPE',
    `${fn}: ${path}: tensor ${tensor} has dtype ${dtype}; expected F32, F16 or BF16`,
    { path, tensor },
  );
}
