import type { FloatTensorDtype } from './float-tensor';
import { getVptqLayerLayout } from './get-vptq-layer-layout';
import type { VptqLayerConfig } from './vptq-layer-config';
import { findVptqLayerConfig, type VptqQuantizationConfig } from './vptq-quantization-config';
import { specsFor, type VptqLayerTensors } from './vptq-layer-tensors';

/** Bits of each stored tensor of a layer (0 when absent), from the actual tensor shapes and dtypes. */
export type VptqStoredBits = { readonly [key in keyof VptqLayerTensors]-?: number };

/** The storage cost of one layer, or of several summed by {@link sumVptqBits}. */
export interface VptqBits {
  /** Quantized weights, out·in (summed over layers). */
  readonly weights: number;
  /**
   * Index bits per weight by the paper's formula (spec §7.10): outliers weighted by their share,
   * `O/in · log2(Ko)/vo + (1 − O/in) · (log2 K + log2 Kr)/v`, ignoring padding and codebooks.
   */
  readonly indexBitsPerWeight: number;
  /**
   * The paper's equivalent bit-width: (index bits + 16-bit codebooks, the main and residual ones ×G) per
   * weight; 16 divided by it is the paper's compression ratio. Norm, perm and padding are not counted.
   */
  readonly paperBitsPerWeight: number;
  /** Bits of every stored tensor. */
  readonly storedBits: VptqStoredBits;
  /**
   * All stored bits except the layer `bias` (which an unquantized layer has too): packed indices with
   * their ceil(out/v) padding rows and 32-bit row padding, 16-bit outlier indices, codebooks at their
   * stored dtype, norm scale and bias, perm.
   */
  readonly totalBits: number;
  /** totalBits / weights. */
  readonly bitsPerWeight: number;
}

/** Options of {@link computeVptqLayerBits}. */
export interface ComputeVptqBitsOptions {
  /** Stored dtype of codebooks, norm and bias. Default `'F16'` (16 bits; BF16 is also 16, F32 is 32). */
  readonly floatDtype?: FloatTensorDtype;
}

const tensorKeys = [
  'centroids',
  'residualCentroids',
  'outlierCentroids',
  'indices',
  'outlierIndices',
  'perm',
  'weightScale',
  'weightBias',
  'bias',
] as const satisfies readonly (keyof VptqLayerTensors)[];

/**
 * Bits-per-weight accounting of one layer (spec §7.10): the paper's index-only and codebook-inclusive
 * figures, and the real storage cost computed from the shapes of the tensors the format stores.
 *
 * @param config - the layer config.
 * @param options - the stored float dtype.
 * @returns the breakdown; see {@link VptqBits}.
 * @throws {RangeError} if the config is invalid.
 */
export function computeVptqLayerBits(config: VptqLayerConfig, options: ComputeVptqBitsOptions = {}): VptqBits {
  const floatDtype = options.floatDtype ?? 'F16';
  if (floatDtype !== 'F16' && floatDtype !== 'BF16' && floatDtype !== 'F32') {
    throw new RangeError(`computeVptqLayerBits: floatDtype must be F16, BF16 or F32 (got ${String(floatDtype)})`);
  }
  const layout = getVptqLayerLayout(config);
  const floatBits = floatDtype === 'F32' ? 32 : 16;
  const storedBits = Object.fromEntries(tensorKeys.map((key) => [key, 0])) as Record<keyof VptqLayerTensors, number>;
  for (const spec of specsFor(layout)) {
    const count = spec.shape.reduce((product, dimension) => product * dimension, 1);
    // indices are I32 words; outlier indices and perm are 16-bit; the rest are floats.
    const bits = spec.key === 'indices' ? 32 : spec.key === 'outlierIndices' || spec.key === 'perm' ? 16 : floatBits;
    storedBits[spec.key] = count * bits;
  }
  const weights = layout.outFeatures * layout.inFeatures;
  const totalBits = tensorKeys.reduce((sum, key) => (key === 'bias' ? sum : sum + storedBits[key]), 0);

  const outlierShare = layout.outlierSize / layout.inFeatures;
  const outlierIndexBits = layout.hasOutliers ? Math.log2(layout.numOutlierCentroids) / layout.outlierVectorLength : 0;
  const indexBitsPerWeight = outlierShare * outlierIndexBits + (1 - outlierShare) * (layout.totalBits / layout.vectorLength);
  const codebookEntries =
    layout.numOutlierCentroids * layout.outlierVectorLength +
    layout.groupNum * layout.vectorLength * (layout.numCentroids + layout.numResidualCentroids);
  const paperBitsPerWeight = indexBitsPerWeight + (codebookEntries * 16) / weights;
  return { weights, indexBitsPerWeight, paperBitsPerWeight, storedBits, totalBits, bitsPerWeight: totalBits / weights };
}

/**
 * Sums layer accounts into one (e.g. a transformer block or a whole model): bits add up, and the
 * per-weight figures are weighted by each layer's number of weights.
 *
 * @param layers - per-layer accounts from {@link computeVptqLayerBits}.
 * @throws {RangeError} if `layers` is empty.
 */
export function sumVptqBits(layers: readonly VptqBits[]): VptqBits {
  if (layers.length === 0) throw new RangeError('sumVptqBits: layers must not be empty');
  const storedBits = Object.fromEntries(
    tensorKeys.map((key) => [key, layers.reduce((sum, layer) => sum + layer.storedBits[key], 0)]),
  ) as Record<keyof VptqLayerTensors, number>;
  const weights = layers.reduce((sum, layer) => sum + layer.weights, 0);
  const weighted = (pick: (layer: VptqBits) => number): number =>
    layers.reduce((sum, layer) => sum + pick(layer) * layer.weights, 0) / weights;
  const totalBits = layers.reduce((sum, layer) => sum + layer.totalBits, 0);
  return {
    weights,
    indexBitsPerWeight: weighted((layer) => layer.indexBitsPerWeight),
    paperBitsPerWeight: weighted((layer) => layer.paperBitsPerWeight),
    storedBits,
    totalBits,
    bitsPerWeight: totalBits / weights,
  };
}

/**
 * The accounting of every quantized linear of a model: the given module names looked up like the
 * loader does (full name, then last component), or, without names, every entry of `configForLayers`.
 * Unquantized tensors (embeddings, `lm_head`, norms) are not included.
 *
 * @param config - the model's quantization config.
 * @param moduleNames - the linear modules to count; names without a config are skipped.
 * @param options - the stored float dtype.
 * @throws {RangeError} if no layer is found.
 */
export function computeVptqModelBits(
  config: VptqQuantizationConfig,
  moduleNames?: readonly string[],
  options: ComputeVptqBitsOptions = {},
): VptqBits {
  const layers = (moduleNames ?? Object.keys(config.configForLayers))
    .map((name) => findVptqLayerConfig(config, name))
    .filter((layer): layer is VptqLayerConfig => layer !== undefined)
    .map((layer) => computeVptqLayerBits(layer, options));
  if (layers.length === 0) throw new RangeError('computeVptqModelBits: no quantized layer found');
  return sumVptqBits(layers);
}
