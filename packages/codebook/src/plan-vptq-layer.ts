import type { VptqLayerConfig } from '@vptq/pack-format';

import { assertBoolean, assertInteger, assertPowerOfTwo } from './validate';

/**
 * The settings that shape a quantized layer's codebooks and vectors (see {@link planVptqLayer}), named as the
 * fields of `VptqLayerConfig` they become.
 */
export interface VptqLayoutOptions {
  /** v: output rows per vector. 1 ≤ v ≤ outFeatures. */
  readonly vectorLength: number;
  /** K: entries of each main codebook, a power of two ≥ 2, at most the vectors of one group. */
  readonly numCentroids: number;
  /** Kr: entries of each residual codebook, a power of two, or 0 for no residual. Default 0. */
  readonly numResidualCentroids?: number;
  /** Share of the input columns (in percent, 0 ≤ p < 100) that form the outlier part. Default 0 (no outliers). */
  readonly outlierPercent?: number;
  /** vo: output rows per outlier vector, ≥ 2. Required when `outlierPercent > 0`; ignored otherwise. */
  readonly outlierVectorLength?: number;
  /** Ko: entries of the outlier codebook, a power of two ≤ 65536. Required when `outlierPercent > 0`. */
  readonly numOutlierCentroids?: number;
  /** G: codebooks sharing the non-outlier columns, each over S = (in − O)/G columns. Default 1. */
  readonly groupNum?: number;
  /** Per-input-column min–max normalization (the reference's `enable_norm`). Default true. */
  readonly enableNorm?: boolean;
}

/**
 * The config a `[outFeatures, inFeatures]` layer quantized with `options` gets: the outlier size O as the
 * reference's `get_group_setting` computes it (`ceil(p/100 · in)` plus `(in − that) mod G`, so that the rest
 * splits evenly into G groups) and the group size S, all validated. `enablePerm` is false here:
 * `quantizeVptqLayer` sets it when the prepared Hessian's column order is not the identity. `bias` is false
 * (the quantizer handles weights only; `packVptqLayer` stores a bias given with the layer).
 *
 * @param outFeatures - rows of the weight, ≥ 1.
 * @param inFeatures - columns of the weight (and size of the Hessian), ≥ 1.
 * @throws {RangeError} when a setting is out of range, K/Kr/Ko is not a power of two, v exceeds outFeatures,
 *   vo is not in 2..outFeatures, G does not divide the non-outlier columns, a codebook has more entries than its
 *   part has vectors, or log2 K + log2 Kr exceeds 32.
 */
export function planVptqLayer(outFeatures: number, inFeatures: number, options: VptqLayoutOptions): VptqLayerConfig {
  return planLayer('planVptqLayer', outFeatures, inFeatures, options);
}

/** {@link planVptqLayer} with the calling function's name in its error messages. */
export function planLayer(fn: string, outFeatures: number, inFeatures: number, options: VptqLayoutOptions): VptqLayerConfig {
  assertInteger(fn, 'outFeatures', outFeatures, 1);
  assertInteger(fn, 'inFeatures', inFeatures, 1);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object (got ${String(options)})`);
  }
  const vectorLength = assertInteger(fn, 'vectorLength', options.vectorLength, 1, outFeatures);
  const centroids = assertPowerOfTwo(fn, 'numCentroids', options.numCentroids, 2 ** 31);
  const residualCentroids = options.numResidualCentroids ?? 0;
  if (residualCentroids !== 0) assertPowerOfTwo(fn, 'numResidualCentroids (or 0 for none)', residualCentroids, 2 ** 31);
  const groups = assertInteger(fn, 'groupNum', options.groupNum ?? 1, 1, inFeatures);
  const enableNorm = assertBoolean(fn, 'enableNorm', options.enableNorm ?? true);
  const outlierPercent = options.outlierPercent ?? 0;
  if (typeof outlierPercent !== 'number' || !(outlierPercent >= 0 && outlierPercent < 100)) {
    throw new RangeError(`${fn}: outlierPercent must be a number with 0 ≤ outlierPercent < 100 (got ${String(outlierPercent)})`);
  }

  const vectorRows = Math.ceil(outFeatures / vectorLength);
  const totalBits = Math.log2(centroids) + (residualCentroids > 0 ? Math.log2(residualCentroids) : 0);
  if (totalBits > 32) {
    throw new RangeError(
      `${fn}: log2(numCentroids) + log2(numResidualCentroids) must be at most 32 (got ${totalBits} for ${centroids} and ${residualCentroids})`,
    );
  }

  let outlierSize = 0;
  let outlierVectorLength = 0;
  let outlierCentroids = 0;
  let outlierVectorRows = 0;
  if (outlierPercent > 0) {
    // The format reads vo ≤ 1 as "no outlier part" (spec §5.1), so outlier vectors have at least 2 rows.
    outlierVectorLength = assertInteger(fn, 'outlierVectorLength', options.outlierVectorLength, 2, Math.max(2, outFeatures));
    // Outlier indices are stored unpacked as 16-bit values in the published format.
    outlierCentroids = assertPowerOfTwo(fn, 'numOutlierCentroids', options.numOutlierCentroids, 65536);
    // `percent · in` is exact for the integer and one-decimal percents used in practice, so dividing last
    // avoids ceil(7.000000000000001) = 8 that `percent / 100 · in` can give.
    const requested = Math.ceil((outlierPercent * inFeatures) / 100);
    outlierSize = requested + ((inFeatures - requested) % groups);
    if (inFeatures - outlierSize < groups) {
      throw new RangeError(
        `${fn}: outlierPercent leaves fewer columns than groupNum (got ${inFeatures - outlierSize} columns for ${groups} groups after ${outlierSize} outlier columns)`,
      );
    }
    outlierVectorRows = Math.ceil(outFeatures / outlierVectorLength);
    if (outlierCentroids > outlierVectorRows * outlierSize) {
      throw new RangeError(
        `${fn}: numOutlierCentroids must not exceed the vectors of the outlier part (got ${outlierCentroids}, vectors = ${outlierVectorRows * outlierSize})`,
      );
    }
  } else if (inFeatures % groups !== 0) {
    throw new RangeError(`${fn}: groupNum must divide inFeatures when there are no outliers (got groupNum = ${groups}, inFeatures = ${inFeatures})`);
  }

  const groupSize = (inFeatures - outlierSize) / groups;
  const groupVectors = vectorRows * groupSize;
  if (centroids > groupVectors) {
    throw new RangeError(`${fn}: numCentroids must not exceed the vectors of one group (got ${centroids}, vectors = ${groupVectors})`);
  }
  if (residualCentroids > groupVectors) {
    throw new RangeError(
      `${fn}: numResidualCentroids must not exceed the vectors of one group (got ${residualCentroids}, vectors = ${groupVectors})`,
    );
  }

  return {
    inFeatures,
    outFeatures,
    vectorLength,
    numCentroids: centroids,
    numResidualCentroids: residualCentroids,
    outlierVectorLength,
    numOutlierCentroids: outlierCentroids,
    groupNum: groups,
    groupSize,
    outlierSize,
    enableNorm,
    enablePerm: false,
    indicesAsFloat: false,
    bias: false,
  };
}
