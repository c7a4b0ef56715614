import { join } from 'node:path';

import { checkFloatTensor } from './check-float-tensor';
import { closeFile } from './file-range';
import { requiredHfTensors } from './hf-tensor-layout';
import { LoaderError } from './loader-error';
import type { LlamaConfig, ModelSource, TensorInfo } from './model-types';
import { parseHfConfig } from './parse-hf-config';
import { readFloatTensor } from './read-float-tensor';
import { readJsonObject } from './read-json-file';
import { openSafetensorsFiles } from './safetensors-files';
import type { LocatedTensor } from './safetensors-files';

const fn = 'openHfModel';

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
      if (!open) {
        throw new LoaderError('VPTQ_LOADER_CLOSED', `readTensor: ${dir} was closed before reading ${name}`, {
          path: located.file.path,
          tensor: name,
        });
      }
      return readFloatTensor('readTensor', located);
    },
    close(): void {
      if (!open) return;
      open = false;
      for (const file of files) closeFile(file);
    },
  };
}

function checkTensors(config: LlamaConfig, tensors: readonly LocatedTensor[], weightsPath: string): void {
  const byName = new Map(tensors.map((tensor) => [tensor.info.name, tensor]));
  for (const [name, shape] of requiredHfTensors(config)) checkFloatTensor(fn, weightsPath, name, shape, byName.get(name));
}
