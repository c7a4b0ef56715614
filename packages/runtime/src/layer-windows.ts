import type { LlamaConfig } from '@vptq/loader';

/**
 * The sliding window of every decoder layer of a config checked by `validateConfig`: `slidingWindow.size` in the
 * layers it lists, 0 (no window: every earlier position) elsewhere.
 */
export function layerWindows(config: LlamaConfig): number[] {
  const windows = new Array<number>(config.numHiddenLayers).fill(0);
  const window = config.slidingWindow;
  if (window) for (const layer of window.layers) windows[layer] = window.size;
  return windows;
}
