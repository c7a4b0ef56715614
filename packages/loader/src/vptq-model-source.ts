import type { PackedVptqLayer, VptqLayerConfig } from '@vptq/pack-format';

import type { ModelSource } from './model-types';

/** One VPTQ-quantized decoder projection of a {@link VptqModelSource}. */
export interface VptqQuantizedLayerInfo {
  /** The module name, e.g. `model.layers.0.self_attn.q_proj`; its packed tensors are `<name>.indices`, …. */
  readonly name: string;
  /**
   * Its layer config, as found in `quantization_config` (full name in `config_for_layers`, else the last name
   * component in `shared_layer_config`, or the legacy flat `quant_config`), with `bias` set from the
   * architecture as transformers does (`bias=module.bias is not None`).
   */
  readonly config: VptqLayerConfig;
}

/**
 * A VPTQ packed model directory seen as an ordinary {@link ModelSource}: `tensors` lists each quantized
 * projection as its logical `<name>.weight` (`F32`, `[out, in]`) and `readTensor` returns it dequantized, so
 * code written for dense models runs unchanged. The packed form stays reachable through `quantizedLayers` and
 * `readQuantizedLayer`.
 */
export interface VptqModelSource extends ModelSource {
  readonly format: 'vptq';
  /** Every decoder projection the quantization config covers, in model order (layer, then q, k, v, o, gate, up, down). */
  readonly quantizedLayers: readonly VptqQuantizedLayerInfo[];
  /**
   * Reads one quantized layer's packed tensors (prefetched first where the model reads asynchronously),
   * validated against its config (dtypes, shapes, `perm` a permutation, outlier indices below Ko, float values
   * finite). Float tensors keep their stored F16/BF16/F32 precision (spec §5.2).
   *
   * @param name - a module name from `quantizedLayers`.
   * @throws {LoaderError} VPTQ_LOADER_UNKNOWN_TENSOR (not a quantized layer), VPTQ_LOADER_CLOSED,
   * VPTQ_LOADER_NOT_PREFETCHED, VPTQ_LOADER_TRUNCATED, VPTQ_LOADER_INDEX_RANGE, VPTQ_LOADER_NOT_FINITE.
   */
  readQuantizedLayer(name: string): PackedVptqLayer;
}
