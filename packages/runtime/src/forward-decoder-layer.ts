import type { LlamaConfig } from '@vptq/loader';

import { runDecoderLayer } from './decoder-layer';
import type { LinearInputCallback } from './language-model';
import { layerWindows } from './layer-windows';
import type { LlamaLayerWeights } from './llama-weights';
import { createRopeTable, ropeInverseFrequencies } from './rope';
import { validateConfig } from './validate-config';

/** Options of {@link forwardDecoderLayer}. */
export interface DecoderLayerOptions {
  /** Called with the input of every projection group, as the model's `forward` reports it. */
  readonly onLinearInput?: LinearInputCallback;
}

/**
 * Runs decoder layer `index` alone over one window of the residual stream at positions `0 … tokens − 1`
 * (causal attention inside the window, the layer's sliding window applied), in place: the computation of
 * `createCpuModel`'s forward pass for that layer, bit for bit. A layer-by-layer quantizer keeps the
 * calibration activations and advances them one layer at a time, holding one layer's weights.
 *
 * @param x - `[tokens, hiddenSize]` f32 residual stream, replaced by the layer's output.
 * @throws {RangeError} for a config that is not runnable, a layer index outside it, or `x` of another size.
 */
export function forwardDecoderLayer(
  config: LlamaConfig,
  index: number,
  layer: LlamaLayerWeights,
  x: Float32Array,
  tokens: number,
  options: DecoderLayerOptions = {},
): void {
  validateConfig('forwardDecoderLayer', config);
  if (!Number.isInteger(index) || index < 0 || index >= config.numHiddenLayers) {
    throw new RangeError(`forwardDecoderLayer: index must be an integer in [0, ${config.numHiddenLayers}) (got ${index})`);
  }
  if (!Number.isInteger(tokens) || tokens < 1 || !(x instanceof Float32Array) || x.length !== tokens * config.hiddenSize) {
    throw new RangeError(
      `forwardDecoderLayer: x must be a Float32Array of tokens × hiddenSize = ${tokens} × ${config.hiddenSize} (got ${x instanceof Float32Array ? x.length : String(x)})`,
    );
  }
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const rope = createRopeTable(0, tokens, ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling));
  runDecoderLayer(layer, x, tokens, {
    config,
    index,
    window: layerWindows(config)[index],
    rope,
    startPosition: 0,
    keyCache: new Float32Array(tokens * kvWidth),
    valueCache: new Float32Array(tokens * kvWidth),
    capture: options.onLinearInput,
  });
}
