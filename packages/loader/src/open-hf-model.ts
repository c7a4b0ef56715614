import { runSync } from './loader-steps';
import type { ModelSource } from './model-types';
import { nodeDirectoryFiles } from './node-model-files';
import { openHfModelSteps } from './open-hf-model-steps';

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
 * In a browser, open the same directory with `openModelFiles` over `urlModelFiles` or `createModelFiles`.
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
  return runSync('openHfModel', openHfModelSteps(nodeDirectoryFiles(dir)));
}
