import { runSync } from './loader-steps';
import { nodeDirectoryFiles } from './node-model-files';
import { openVptqModelSteps } from './open-vptq-model-steps';
import type { VptqModelSource } from './vptq-model-source';

/**
 * Opens a VPTQ packed model directory (spec §5), as published by `VPTQ-community` or written by this project,
 * for lazy reading: config.json with a Llama/Mistral/Qwen2 architecture (`ropeLayout: 'half'`) and a VPTQ
 * quantization config (`quantization_config` with `quant_method: "vptq"`, `text_config.quantization_config`, or
 * the legacy flat `quant_config`), plus `model.safetensors` or the shards of `model.safetensors.index.json`.
 *
 * Each decoder projection (`q/k/v/o_proj`, `gate/up/down_proj`) is quantized when the config has a layer config
 * for it: its full module name in `config_for_layers`, else its last name component in `shared_layer_config`.
 * Its packed tensors are then checked against that config when opening (dtypes and derived shapes, spec §5.2),
 * and it appears in `tensors` as `<module>.weight`, `F32` `[out, in]`, which `readTensor` dequantizes (spec §5.4)
 * on each call. Layer biases pass through as `<module>.bias`; embeddings, norms and `lm_head` are read as in
 * {@link openHfModel}. A layer's packed form is read with `readQuantizedLayer`.
 *
 * @param dir - The model directory.
 * @returns A VptqModelSource with `format: 'vptq'`; call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_BAD_CONFIG (architecture fields; a missing or
 * non-VPTQ quantization config; a layer config that is malformed or invalid — K not a power of two,
 * `outlier_size + group_num · group_size != in_features`, tb > 32, `is_indice_packed: false` — or that disagrees
 * with the architecture, or covers a module stored as a plain weight), VPTQ_LOADER_BAD_SAFETENSORS /
 * VPTQ_LOADER_TRUNCATED (headers, index), VPTQ_LOADER_UNKNOWN_TENSOR (a missing packed or plain tensor),
 * VPTQ_LOADER_UNSUPPORTED_DTYPE, VPTQ_LOADER_SHAPE_MISMATCH; each names the file and the layer, tensor or field.
 * Reads add VPTQ_LOADER_NOT_FINITE, VPTQ_LOADER_INDEX_RANGE and VPTQ_LOADER_CLOSED.
 */
export function openVptqModel(dir: string): VptqModelSource {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`openVptqModel: dir must be a non-empty string (got ${String(dir)})`);
  }
  return runSync('openVptqModel', openVptqModelSteps(nodeDirectoryFiles(dir)));
}
