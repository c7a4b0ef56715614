import type { LlamaConfig, RopeScaling } from '@vptq/loader';

/** Throws a RangeError naming `fn` when `config` cannot describe a runnable Llama-family decoder. */
export function validateConfig(fn: string, config: LlamaConfig): void {
  if (typeof config !== 'object' || config === null) throw new TypeError(`${fn}: config must be an object (got ${String(config)})`);
  for (const field of [
    'hiddenSize',
    'intermediateSize',
    'numHiddenLayers',
    'numAttentionHeads',
    'numKeyValueHeads',
    'headDim',
    'vocabSize',
    'maxPositionEmbeddings',
  ] as const) {
    const value = config[field];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${fn}: config.${field} must be a positive integer (got ${value})`);
    }
  }
  if (config.numAttentionHeads % config.numKeyValueHeads !== 0) {
    throw new RangeError(
      `${fn}: config.numKeyValueHeads must divide numAttentionHeads (got ${config.numKeyValueHeads} and ${config.numAttentionHeads})`,
    );
  }
  if (config.headDim % 2 !== 0) throw new RangeError(`${fn}: config.headDim must be even for RoPE pairs (got ${config.headDim})`);
  if (!(config.rmsNormEps >= 0) || !Number.isFinite(config.rmsNormEps)) {
    throw new RangeError(`${fn}: config.rmsNormEps must be a finite number ≥ 0 (got ${config.rmsNormEps})`);
  }
  if (!(config.ropeTheta > 1) || !Number.isFinite(config.ropeTheta)) {
    throw new RangeError(`${fn}: config.ropeTheta must be a finite number > 1 (got ${config.ropeTheta})`);
  }
  if (config.ropeLayout !== 'interleaved' && config.ropeLayout !== 'half') {
    throw new RangeError(`${fn}: config.ropeLayout must be 'interleaved' or 'half' (got ${String(config.ropeLayout)})`);
  }
  validateRopeScaling(fn, config.ropeScaling);
  validateSlidingWindow(fn, config);
}

function validateRopeScaling(fn: string, scaling: RopeScaling | undefined): void {
  if (scaling === undefined) return;
  if (scaling.type !== 'llama3') throw new RangeError(`${fn}: config.ropeScaling.type must be 'llama3' (got ${String(scaling.type)})`);
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings } = scaling;
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`${fn}: config.ropeScaling.factor must be a finite number ≥ 1 (got ${factor})`);
  if (!(lowFreqFactor > 0) || !Number.isFinite(lowFreqFactor)) {
    throw new RangeError(`${fn}: config.ropeScaling.lowFreqFactor must be a finite number > 0 (got ${lowFreqFactor})`);
  }
  if (!(highFreqFactor > lowFreqFactor) || !Number.isFinite(highFreqFactor)) {
    throw new RangeError(`${fn}: config.ropeScaling.highFreqFactor must be a finite number > lowFreqFactor (got ${highFreqFactor} and ${lowFreqFactor})`);
  }
  if (!Number.isInteger(originalMaxPositionEmbeddings) || originalMaxPositionEmbeddings < 1) {
    throw new RangeError(`${fn}: config.ropeScaling.originalMaxPositionEmbeddings must be a positive integer (got ${originalMaxPositionEmbeddings})`);
  }
}

function validateSlidingWindow(fn: string, config: LlamaConfig): void {
  const window = config.slidingWindow;
  if (window === undefined) return;
  if (!Number.isInteger(window.size) || window.size < 1 || window.size > 0xffffffff) {
    throw new RangeError(`${fn}: config.slidingWindow.size must be a positive 32-bit integer (got ${window.size})`);
  }
  const layers = window.layers;
  if (!Array.isArray(layers) || layers.some((layer, index) => !Number.isInteger(layer) || layer < 0 || layer >= config.numHiddenLayers || (index > 0 && layer <= layers[index - 1]))) {
    throw new RangeError(
      `${fn}: config.slidingWindow.layers must list distinct layers below numHiddenLayers = ${config.numHiddenLayers} in ascending order (got ${Array.isArray(layers) ? `[${layers.join(', ')}]` : String(layers)})`,
    );
  }
}
