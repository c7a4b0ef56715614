import type { LlamaConfig } from '@vptq/loader';

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
}
