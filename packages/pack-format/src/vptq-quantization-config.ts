import { PackFormatError } from './pack-format-error';
import { parseVptqLayerConfig, toVptqLayerConfigJson, type VptqLayerConfig, type VptqLayerConfigJson } from './vptq-layer-config';

/** A model's VPTQ `quantization_config` (spec §5.1), in camelCase. */
export interface VptqQuantizationConfig {
  /** `config_for_layers`: configs by full module name, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly configForLayers: Readonly<Record<string, VptqLayerConfig>>;
  /** `shared_layer_config`: configs by the module's last name component, e.g. `q_proj`. */
  readonly sharedLayerConfig: Readonly<Record<string, VptqLayerConfig>>;
}

/** The JSON form of {@link VptqQuantizationConfig}, the value of `config.json` → `quantization_config`. */
export interface VptqQuantizationConfigJson {
  quant_method: 'vptq';
  config_for_layers: Record<string, VptqLayerConfigJson>;
  shared_layer_config: Record<string, VptqLayerConfigJson>;
}

/**
 * Reads the VPTQ quantization config of a model from its parsed `config.json`, looking in
 * `quantization_config`, then `text_config.quantization_config` (multimodal models), then the legacy flat
 * top-level `quant_config: {moduleName: layerConfig}` written before November 2024 (read as
 * `configForLayers`). The `quantization_config` object itself is accepted too. Every layer config is
 * validated; unknown keys are ignored.
 *
 * @param modelConfig - the parsed `config.json` (or its `quantization_config`).
 * @param label - the file name for error messages; defaults to `config.json`.
 * @returns the layer configs.
 * @throws {PackFormatError} `VPTQ_PACK_CONFIG` if no VPTQ config is found, `quant_method` is not `vptq`,
 * or a layer config is invalid (the message names the file and the layer).
 */
export function parseVptqQuantizationConfig(modelConfig: unknown, label = 'config.json'): VptqQuantizationConfig {
  if (!isObject(modelConfig)) throw configError(label, `must be a JSON object (got ${typeof modelConfig})`);
  const textConfig = isObject(modelConfig.text_config) ? modelConfig.text_config : undefined;
  let quantization: Record<string, unknown> | undefined;
  if ('config_for_layers' in modelConfig || 'shared_layer_config' in modelConfig || modelConfig.quant_method !== undefined) {
    quantization = modelConfig;
  } else if (modelConfig.quantization_config !== undefined && modelConfig.quantization_config !== null) {
    if (!isObject(modelConfig.quantization_config)) throw configError(label, 'quantization_config must be an object');
    quantization = modelConfig.quantization_config;
  } else if (textConfig !== undefined && textConfig.quantization_config !== undefined && textConfig.quantization_config !== null) {
    if (!isObject(textConfig.quantization_config)) throw configError(label, 'text_config.quantization_config must be an object');
    quantization = textConfig.quantization_config;
  }
  if (quantization === undefined) {
    if (isObject(modelConfig.quant_config)) {
      return { configForLayers: parseLayers(modelConfig.quant_config, label, 'quant_config'), sharedLayerConfig: {} };
    }
    throw configError(label, 'has no quantization_config, text_config.quantization_config or legacy quant_config');
  }
  if (quantization.quant_method !== 'vptq') {
    throw configError(label, `quant_method must be "vptq" (got ${JSON.stringify(quantization.quant_method) ?? 'nothing'})`);
  }
  const forLayers = quantization.config_for_layers ?? {};
  const shared = quantization.shared_layer_config ?? {};
  if (!isObject(forLayers)) throw configError(label, 'config_for_layers must be an object');
  if (!isObject(shared)) throw configError(label, 'shared_layer_config must be an object');
  return {
    configForLayers: parseLayers(forLayers, label, 'config_for_layers'),
    sharedLayerConfig: parseLayers(shared, label, 'shared_layer_config'),
  };
}

/**
 * The `quantization_config` JSON object for `config.json`. Keys keep the order of the given records.
 *
 * @throws {RangeError} if a layer config is invalid.
 */
export function toVptqQuantizationConfigJson(config: VptqQuantizationConfig): VptqQuantizationConfigJson {
  const convert = (layers: Readonly<Record<string, VptqLayerConfig>>): Record<string, VptqLayerConfigJson> =>
    Object.fromEntries(Object.entries(layers).map(([name, layer]) => [name, toVptqLayerConfigJson(layer)]));
  return {
    quant_method: 'vptq',
    config_for_layers: convert(config.configForLayers),
    shared_layer_config: convert(config.sharedLayerConfig),
  };
}

/**
 * The config of one linear module, looked up like the reference loader: the full module name in
 * `configForLayers` first, then its last name component in `sharedLayerConfig`.
 *
 * @param config - the model's quantization config.
 * @param moduleName - e.g. `model.layers.3.mlp.down_proj`.
 * @returns the layer config, or undefined when the module is not quantized.
 */
export function findVptqLayerConfig(config: VptqQuantizationConfig, moduleName: string): VptqLayerConfig | undefined {
  if (Object.hasOwn(config.configForLayers, moduleName)) return config.configForLayers[moduleName];
  const shortName = moduleName.slice(moduleName.lastIndexOf('.') + 1);
  if (Object.hasOwn(config.sharedLayerConfig, shortName)) return config.sharedLayerConfig[shortName];
  return undefined;
}

function parseLayers(layers: Record<string, unknown>, label: string, key: string): Record<string, VptqLayerConfig> {
  const out: Record<string, VptqLayerConfig> = {};
  for (const [name, value] of Object.entries(layers)) {
    try {
      Object.defineProperty(out, name, { value: parseVptqLayerConfig(value, name), enumerable: true, writable: false, configurable: true });
    } catch (error) {
      if (error instanceof PackFormatError) {
        throw new PackFormatError('VPTQ_PACK_CONFIG', `${label}: ${key}: ${error.message}`, { label, tensor: name, cause: error });
      }
      throw error;
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function configError(label: string, detail: string): PackFormatError {
  return new PackFormatError('VPTQ_PACK_CONFIG', `${label}: ${detail}`, { label });
}
