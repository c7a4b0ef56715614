/** Where and how a config.json says its weights are quantized. */
export interface DeclaredQuantization {
  /** The key holding it: `quantization_config`, `text_config.quantization_config`, or `quant_config` (legacy VPTQ). */
  readonly field: string;
  /** Its `quant_method` as written (`'vptq'` for the legacy flat `quant_config`, which predates the key). */
  readonly method: unknown;
}

/**
 * Finds a quantization declaration in a parsed config.json, in the order `@vptq/pack-format` reads VPTQ configs:
 * `quantization_config`, `text_config.quantization_config` (multimodal models), then the flat top-level
 * `quant_config` that VPTQ wrote before November 2024. Null values count as absent, as transformers treats them.
 */
export function findDeclaredQuantization(json: Record<string, unknown>): DeclaredQuantization | undefined {
  const methodOf = (value: unknown): unknown =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { quant_method?: unknown }).quant_method : undefined;
  if (json.quantization_config !== undefined && json.quantization_config !== null) {
    return { field: 'quantization_config', method: methodOf(json.quantization_config) };
  }
  const text = json.text_config;
  if (typeof text === 'object' && text !== null && !Array.isArray(text)) {
    const nested = (text as Record<string, unknown>).quantization_config;
    if (nested !== undefined && nested !== null) return { field: 'text_config.quantization_config', method: methodOf(nested) };
  }
  if (typeof json.quant_config === 'object' && json.quant_config !== null && !Array.isArray(json.quant_config)) {
    return { field: 'quant_config', method: 'vptq' };
  }
  return undefined;
}
