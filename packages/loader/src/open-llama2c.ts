import { runSync } from './loader-steps';
import type { ModelSource } from './model-types';
import { nodeFileFiles } from './node-model-files';
import { openLlama2cSteps } from './open-llama2c-steps';

/**
 * Opens a llama2.c "legacy v0" checkpoint (`.bin`: 7 × int32 header, then f32 tensors) for lazy reading.
 * Only the header is read here; each {@link ModelSource.readTensor} call reads one tensor with `fs.readSync`
 * at its offset, so memory stays bounded by the largest tensor.
 *
 * Tensors are exposed under Hugging Face Llama names, sliced per layer from llama2.c's stacked arrays:
 * `model.embed_tokens.weight` `[vocab, dim]`, `model.layers.{i}.input_layernorm.weight` `[dim]`,
 * `…self_attn.q_proj.weight` `[dim, dim]`, `…k_proj`/`…v_proj` `[kvDim, dim]`, `…o_proj` `[dim, dim]`,
 * `…post_attention_layernorm.weight` `[dim]`, `…mlp.gate_proj` (w1) / `…up_proj` (w3) `[hidden, dim]`,
 * `…mlp.down_proj` (w2) `[dim, hidden]`, `model.norm.weight` `[dim]`, and `lm_head.weight` `[vocab, dim]`
 * only when the header's negative vocab_size says the classifier is stored separately. All F32. The q/k rows
 * stay in llama2.c's interleaved RoPE layout (`config.ropeLayout === 'interleaved'`).
 *
 * @param path - The `.bin` checkpoint.
 * @returns A ModelSource with `format: 'llama2c'`; call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_TRUNCATED, VPTQ_LOADER_SIZE_MISMATCH or
 * VPTQ_LOADER_BAD_HEADER naming the file and the header field; readTensor throws VPTQ_LOADER_NOT_FINITE,
 * VPTQ_LOADER_UNKNOWN_TENSOR or VPTQ_LOADER_CLOSED.
 */
export function openLlama2c(path: string): ModelSource {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`openLlama2c: path must be a non-empty string (got ${String(path)})`);
  }
  return runSync('openLlama2c', openLlama2cSteps(nodeFileFiles(path)));
}
