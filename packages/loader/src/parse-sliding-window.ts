import { describeJson as describe } from './describe-json';
import type { LoaderError } from './loader-error';
import type { LlamaConfig, SlidingWindow } from './model-types';

// transformers' defaults when config.json omits the keys (MistralConfig and Qwen2Config).
const defaultSlidingWindow = 4096;
const defaultMaxWindowLayers = 28;

/**
 * Reads which layers of a Hugging Face config.json use sliding-window attention, as transformers' modelling
 * code decides it:
 *
 * - **Mistral** applies `sliding_window` to every layer (4096 when the key is absent, none when it is null).
 *   `MistralForCausalLM` ignores `layer_types` (transformers warns that such a model needs another class), so a
 *   config that sets it is rejected rather than run with the wrong masks.
 * - **Qwen2** uses the window only with `use_sliding_window: true`, and then in the layers `layer_types` marks
 *   `"sliding_attention"`, or when that is absent in layers ≥ `max_window_layers` (default 28). Layers marked
 *   sliding without a window (use_sliding_window false or sliding_window null) are rejected: transformers fails
 *   on them too.
 * - **Llama** has no sliding window in transformers, which ignores these keys; so does this.
 *
 * @returns The window and its layers, or undefined when no layer uses one.
 * @throws {LoaderError} VPTQ_LOADER_BAD_CONFIG naming the field, what was expected and what it holds.
 */
export function parseSlidingWindow(
  json: Record<string, unknown>,
  modelType: LlamaConfig['modelType'],
  numHiddenLayers: number,
  fail: (field: string, rule: string) => LoaderError,
): SlidingWindow | undefined {
  if (modelType === 'llama') return undefined;
  const raw = json.sliding_window === undefined ? defaultSlidingWindow : json.sliding_window;
  if (raw !== null && (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1)) {
    throw fail('sliding_window', `must be a positive integer or null (got ${describe(raw)})`);
  }
  const every = Array.from({ length: numHiddenLayers }, (_, layer) => layer);

  if (modelType === 'mistral') {
    if (json.layer_types !== undefined && json.layer_types !== null) {
      throw fail(
        'layer_types',
        `is not supported for MistralForCausalLM: transformers ignores it and applies sliding_window to every layer, which a model with per-layer attention types was not trained for (got ${describe(json.layer_types)})`,
      );
    }
    return raw === null ? undefined : { size: raw, layers: every };
  }

  const enabled = json.use_sliding_window ?? false;
  if (typeof enabled !== 'boolean') throw fail('use_sliding_window', `must be a boolean (got ${describe(enabled)})`);
  const maxWindowLayers = json.max_window_layers ?? defaultMaxWindowLayers;
  if (typeof maxWindowLayers !== 'number' || !Number.isSafeInteger(maxWindowLayers) || maxWindowLayers < 0) {
    throw fail('max_window_layers', `must be a non-negative integer (got ${describe(maxWindowLayers)})`);
  }
  const size = enabled ? raw : null;
  const types = json.layer_types ?? null;
  let layers: number[];
  if (types === null) {
    layers = every.filter((layer) => layer >= maxWindowLayers);
  } else {
    if (!Array.isArray(types) || types.length !== numHiddenLayers || !types.every((type) => type === 'full_attention' || type === 'sliding_attention')) {
      throw fail('layer_types', `must list "full_attention" or "sliding_attention" for each of the ${numHiddenLayers} layers (got ${describe(types)})`);
    }
    layers = every.filter((layer) => types[layer] === 'sliding_attention');
  }
  if (size === null) {
    if (types !== null && layers.length > 0) {
      throw fail('layer_types', `marks layer ${layers[0]} "sliding_attention", but there is no window to apply (use_sliding_window ${describe(enabled)}, sliding_window ${describe(raw)})`);
    }
    return undefined;
  }
  return layers.length === 0 ? undefined : { size, layers };
}
