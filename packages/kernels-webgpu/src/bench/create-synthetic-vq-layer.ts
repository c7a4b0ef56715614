import { createRandom, randomPermutation } from '@vptq/kmeans';
import { floatTensorFromF32, packIndices } from '@vptq/pack-format';
import { f32ToBf16Bits, f32ToF16Bits } from '@vptq/pack-format/safetensors';
import type { FloatTensor, FloatTensorDtype, PackedVptqLayer, VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

import { assertCount } from '../validate';

/** Options of {@link createSyntheticVqLayer}, named as the `VptqLayerConfig` fields they set. */
export interface SyntheticVqLayerOptions {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** v. */
  readonly vectorLength: number;
  /** K, a power of two. */
  readonly numCentroids: number;
  /** Kr, a power of two, or 0 (default) for no residual codebook. */
  readonly numResidualCentroids?: number;
  /** G. Default 1. */
  readonly groupNum?: number;
  /** O outlier columns. Default 0. */
  readonly outlierSize?: number;
  /** vo (> 1) when outlierSize > 0. Default 4. */
  readonly outlierVectorLength?: number;
  /** Ko, a power of two ≤ 65536, when outlierSize > 0. Default 256. */
  readonly numOutlierCentroids?: number;
  /** Store weight_scale and weight_bias. Default true. */
  readonly enableNorm?: boolean;
  /** Store a random column permutation. Default true. */
  readonly enablePerm?: boolean;
  /** Give the layer a bias. Default false. */
  readonly bias?: boolean;
  /** Codebook and norm dtype. Default `'F16'`. */
  readonly dtype?: FloatTensorDtype;
  /** Seed of every random choice. Default 1. */
  readonly seed?: number;
}

/**
 * A random but well-formed packed VPTQ layer (config + tensors in `@vptq/pack-format`'s shapes): uniform
 * random indices, codebooks, permutation, norm and bias, all from `seed`. For kernel tests and benchmarks
 * where no quantized model is at hand; the weights mean nothing.
 *
 * @throws {RangeError} when a size is invalid or `outlierSize + G·S ≠ inFeatures` cannot be met.
 */
export function createSyntheticVqLayer(options: SyntheticVqLayerOptions): PackedVptqLayer {
  const fn = 'createSyntheticVqLayer';
  const outFeatures = assertCount(fn, 'outFeatures', options.outFeatures);
  const inFeatures = assertCount(fn, 'inFeatures', options.inFeatures);
  const vectorLength = assertCount(fn, 'vectorLength', options.vectorLength);
  const groups = assertCount(fn, 'groupNum', options.groupNum ?? 1);
  const outlierSize = assertCount(fn, 'outlierSize', options.outlierSize ?? 0, 0, inFeatures - 1);
  if ((inFeatures - outlierSize) % groups !== 0) {
    throw new RangeError(`${fn}: groupNum must divide inFeatures − outlierSize (got ${groups} and ${inFeatures - outlierSize})`);
  }
  const dtype = options.dtype ?? 'F16';
  const random = createRandom(options.seed ?? 1);
  const hasOutliers = outlierSize > 0;
  const config: VptqLayerConfig = {
    inFeatures,
    outFeatures,
    vectorLength,
    numCentroids: options.numCentroids,
    numResidualCentroids: options.numResidualCentroids ?? 0,
    outlierVectorLength: hasOutliers ? (options.outlierVectorLength ?? 4) : 0,
    numOutlierCentroids: hasOutliers ? (options.numOutlierCentroids ?? 256) : 0,
    groupNum: groups,
    groupSize: (inFeatures - outlierSize) / groups,
    outlierSize,
    enableNorm: options.enableNorm ?? true,
    enablePerm: options.enablePerm ?? true,
    indicesAsFloat: false,
    bias: options.bias ?? false,
  };
  const vectorRows = Math.ceil(outFeatures / vectorLength);
  const count = groups * vectorRows * config.groupSize;
  const indexBits = Math.log2(config.numCentroids);
  const residualBits = config.numResidualCentroids > 0 ? Math.log2(config.numResidualCentroids) : 0;
  const randomIndices = (bits: number, length: number) => {
    const values = new Uint32Array(length);
    for (let i = 0; i < length; i++) values[i] = Math.floor(random() * 2 ** bits);
    return values;
  };
  const floats = (length: number, scale: number, offset = 0): FloatTensor => {
    const values = new Float32Array(length);
    for (let i = 0; i < length; i++) values[i] = offset + (random() * 2 - 1) * scale;
    return dtype === 'F32' ? floatTensorFromF32(values, dtype) : { dtype, data: Uint16Array.from(values, dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits) };
  };
  const tensors: {
    -readonly [K in keyof VptqLayerTensors]: VptqLayerTensors[K];
  } = {
    indices: packIndices({
      groupNum: groups,
      vectorRows,
      groupSize: config.groupSize,
      indexBits,
      residualBits,
      main: randomIndices(indexBits, count),
      residual: residualBits > 0 ? randomIndices(residualBits, count) : undefined,
    }),
    centroids: floats(groups * config.numCentroids * vectorLength, 1),
  };
  if (residualBits > 0) tensors.residualCentroids = floats(groups * config.numResidualCentroids * vectorLength, 0.1);
  if (hasOutliers) {
    const outlierVectorLength = config.outlierVectorLength;
    tensors.outlierCentroids = floats(config.numOutlierCentroids * outlierVectorLength, 2);
    tensors.outlierIndices = Uint16Array.from(randomIndices(Math.log2(config.numOutlierCentroids), Math.ceil(outFeatures / outlierVectorLength) * outlierSize));
  }
  if (config.enablePerm) {
    tensors.perm = Uint16Array.from(randomPermutation(inFeatures, random));
  }
  if (config.enableNorm) {
    tensors.weightScale = floats(inFeatures, 0.5, 1);
    tensors.weightBias = floats(inFeatures, 0.1);
  }
  if (config.bias) tensors.bias = floats(outFeatures, 1);
  return { config, tensors };
}
