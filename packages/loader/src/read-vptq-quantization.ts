import { PackFormatError, parseVptqQuantizationConfig } from '@vptq/pack-format';
import type { VptqQuantizationConfig } from '@vptq/pack-format';

import type { DeclaredQuantization } from './find-declared-quantization';
import { loaderErrorFromPackFormat } from './loader-error-from-pack-format';

// The keys of a layer config, for naming the one a pack-format message is about.
const layerKeys =
  /\b(in_features|out_features|vector_lens|num_centroids|num_res_centroids|group_num|group_size|outlier_size|enable_norm|enable_perm|is_indice_packed|indices_as_float|vector_quant_dim)\b/;

/**
 * Parses the VPTQ quantization config of a config.json with `@vptq/pack-format` (every layer config validated;
 * unknown keys such as `norm_dim` or `enable_proxy_error` ignored), turning its errors into VPTQ_LOADER_BAD_CONFIG
 * with `tensor` = the layer key and `field` = the JSON path of the offending key, e.g.
 * `quantization_config.shared_layer_config["q_proj"].num_centroids`.
 */
export function readVptqQuantization(
  fn: string,
  configPath: string,
  json: Record<string, unknown>,
  declared: DeclaredQuantization,
): VptqQuantizationConfig {
  try {
    return parseVptqQuantizationConfig(json, configPath);
  } catch (error) {
    if (!(error instanceof PackFormatError)) throw error;
    let field = declared.field;
    if (error.tensor !== undefined) {
      const marker = `layer "${error.tensor}"`;
      const section = /(config_for_layers|shared_layer_config|quant_config): layer "/.exec(error.message)?.[1] ?? 'config_for_layers';
      field = layerConfigField(declared, section as LayerConfigSection, error.tensor);
      const key = layerKeys.exec(error.message.slice(error.message.indexOf(marker) + marker.length))?.[1];
      if (key !== undefined) field += `.${key}`;
    }
    throw loaderErrorFromPackFormat(fn, configPath, error, { field });
  }
}

/** The part of a VPTQ quantization config a layer config lives in. */
export type LayerConfigSection = 'config_for_layers' | 'shared_layer_config' | 'quant_config';

/**
 * The JSON path of the layer config stored under `key` in `section`, e.g.
 * `quantization_config.config_for_layers["model.layers.0.mlp.up_proj"]`, `quantization_config.shared_layer_config["q_proj"]`
 * or (legacy) `quant_config["model.layers.0.mlp.up_proj"]`.
 */
export function layerConfigField(declared: DeclaredQuantization, section: LayerConfigSection, key: string): string {
  if (declared.field === 'quant_config' || section === 'quant_config') return `quant_config[${JSON.stringify(key)}]`;
  return `${declared.field}.${section}[${JSON.stringify(key)}]`;
}

/** The JSON path of the layer config `findVptqLayerConfig` picks for `module` (full name first, then last component). */
export function moduleConfigField(declared: DeclaredQuantization, quantization: VptqQuantizationConfig, module: string): string {
  if (Object.hasOwn(quantization.configForLayers, module)) return layerConfigField(declared, 'config_for_layers', module);
  return layerConfigField(declared, 'shared_layer_config', module.slice(module.lastIndexOf('.') + 1));
}
