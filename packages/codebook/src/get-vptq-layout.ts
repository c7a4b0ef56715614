import { assertInteger, assertPowerOfTwo } from './validate';

/** The shape-defining VPTQ settings of one layer (see {@link getVptqLayout}). */
export interface VptqLayoutOptions {
  /** v: output rows per vector. 1 ≤ v ≤ outFeatures. */
  readonly vectorLength: number;
  /** K: entries of each main codebook, a power of two ≥ 2, at most the vectors of one group. */
  readonly centroids: number;
  /** Kr: entries of each residual codebook, a power of two, or 0 for no residual. Default 0. */
  readonly residualCentroids?: number;
  /** Share of the input columns (in percent, 0 ≤ p < 100) that form the outlier part. Default 0 (no outliers). */
  readonly outlierPercent?: number;
  /** vo: output rows per outlier vector. Required when `outlierPercent > 0`; ignored otherwise. */
  readonly outlierVectorLength?: number;
  /** Ko: entries of the outlier codebook, a power of two ≤ 65536. Required when `outlierPercent > 0`. */
  readonly outlierCentroids?: number;
  /** G: codebooks sharing the non-outlier columns, each over S = (in − O)/G columns. Default 1. */
  readonly groups?: number;
}

/**
 * How a `[outFeatures, inFeatures]` layer splits into vectors, parts and codebooks. All counts are integers.
 * Index tensors are `[vectorRows, groupSize]` per group and `[outlierVectorRows, outlierSize]` for outliers.
 */
export interface VptqLayout {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** v. */
  readonly vectorLength: number;
  /** K. */
  readonly centroids: number;
  /** Kr, 0 when there is no residual codebook. */
  readonly residualCentroids: number;
  /** vo, 0 when there is no outlier part. */
  readonly outlierVectorLength: number;
  /** Ko, 0 when there is no outlier part. */
  readonly outlierCentroids: number;
  /** O: the leading columns (in quantization order) of the outlier part, 0 when there is none. */
  readonly outlierSize: number;
  /** G. */
  readonly groups: number;
  /** S = (inFeatures − O) / G. */
  readonly groupSize: number;
  /** R = ceil(outFeatures / v): vectors per column. */
  readonly vectorRows: number;
  /** R·v − outFeatures: zero rows appended to the last vector of every column. */
  readonly padding: number;
  /** Ro = ceil(outFeatures / vo), 0 without outliers. */
  readonly outlierVectorRows: number;
  /** Ro·vo − outFeatures, 0 without outliers. */
  readonly outlierPadding: number;
  /** log2 K + log2 Kr: bits of one packed (main | residual) index field. */
  readonly indexBits: number;
}

/**
 * Derives and validates the vector layout of one layer: the outlier size O as the reference's
 * `get_group_setting` computes it (`ceil(p/100 · in)` plus `(in − that) mod G`, so that the rest splits evenly
 * into G groups), the group size S, and the vector rows and padding along the output dimension.
 *
 * @param outFeatures - rows of the weight, ≥ 1.
 * @param inFeatures - columns of the weight (and size of the Hessian), ≥ 1.
 * @throws {RangeError} when a setting is out of range, K/Kr/Ko is not a power of two, v or vo exceeds
 *   outFeatures, G does not divide the non-outlier columns, a codebook has more entries than its part has
 *   vectors, or log2 K + log2 Kr exceeds 32.
 */
export function getVptqLayout(outFeatures: number, inFeatures: number, options: VptqLayoutOptions): VptqLayout {
  return deriveLayout('getVptqLayout', outFeatures, inFeatures, options);
}

/** {@link getVptqLayout} with the calling function's name in its error messages. */
export function deriveLayout(fn: string, outFeatures: number, inFeatures: number, options: VptqLayoutOptions): VptqLayout {
  assertInteger(fn, 'outFeatures', outFeatures, 1);
  assertInteger(fn, 'inFeatures', inFeatures, 1);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object (got ${String(options)})`);
  }
  const vectorLength = assertInteger(fn, 'vectorLength', options.vectorLength, 1, outFeatures);
  const centroids = assertPowerOfTwo(fn, 'centroids', options.centroids, 2 ** 31);
  const residualCentroids = options.residualCentroids ?? 0;
  if (residualCentroids !== 0) assertPowerOfTwo(fn, 'residualCentroids (or 0 for none)', residualCentroids, 2 ** 31);
  const groups = assertInteger(fn, 'groups', options.groups ?? 1, 1, inFeatures);
  const outlierPercent = options.outlierPercent ?? 0;
  if (typeof outlierPercent !== 'number' || !(outlierPercent >= 0 && outlierPercent < 100)) {
    throw new RangeError(`${fn}: outlierPercent must be a number with 0 ≤ outlierPercent < 100 (got ${String(outlierPercent)})`);
  }

  const vectorRows = Math.ceil(outFeatures / vectorLength);
  const indexBits = Math.log2(centroids) + (residualCentroids > 0 ? Math.log2(residualCentroids) : 0);
  if (indexBits > 32) {
    throw new RangeError(
      `${fn}: log2(centroids) + log2(residualCentroids) must be at most 32 (got ${indexBits} for ${centroids} and ${residualCentroids})`,
    );
  }

  let outlierSize = 0;
  let outlierVectorLength = 0;
  let outlierCentroids = 0;
  let outlierVectorRows = 0;
  if (outlierPercent > 0) {
    outlierVectorLength = assertInteger(fn, 'outlierVectorLength', options.outlierVectorLength, 1, outFeatures);
    // Outlier indices are stored unpacked as 16-bit values in the published format.
    outlierCentroids = assertPowerOfTwo(fn, 'outlierCentroids', options.outlierCentroids, 65536);
    // `percent · in` is exact for the integer and one-decimal percents used in practice, so dividing last
    // avoids ceil(7.000000000000001) = 8 that `percent / 100 · in` can give.
    const requested = Math.ceil((outlierPercent * inFeatures) / 100);
    outlierSize = requested + ((inFeatures - requested) % groups);
    if (inFeatures - outlierSize < groups) {
      throw new RangeError(
        `${fn}: outlierPercent leaves fewer columns than groups (got ${inFeatures - outlierSize} columns for ${groups} groups after ${outlierSize} outlier columns)`,
      );
    }
    outlierVectorRows = Math.ceil(outFeatures / outlierVectorLength);
    if (outlierCentroids > outlierVectorRows * outlierSize) {
      throw new RangeError(
        `${fn}: outlierCentroids must not exceed the vectors of the outlier part (got ${outlierCentroids}, vectors = ${outlierVectorRows * outlierSize})`,
      );
    }
  } else if (inFeatures % groups !== 0) {
    throw new RangeError(`${fn}: groups must divide inFeatures when there are no outliers (got groups = ${groups}, inFeatures = ${inFeatures})`);
  }

  const groupSize = (inFeatures - outlierSize) / groups;
  const groupVectors = vectorRows * groupSize;
  if (centroids > groupVectors) {
    throw new RangeError(`${fn}: centroids must not exceed the vectors of one group (got ${centroids}, vectors = ${groupVectors})`);
  }
  if (residualCentroids > groupVectors) {
    throw new RangeError(
      `${fn}: residualCentroids must not exceed the vectors of one group (got ${residualCentroids}, vectors = ${groupVectors})`,
    );
  }

  return {
    outFeatures,
    inFeatures,
    vectorLength,
    centroids,
    residualCentroids,
    outlierVectorLength,
    outlierCentroids,
    outlierSize,
    groups,
    groupSize,
    vectorRows,
    padding: vectorRows * vectorLength - outFeatures,
    outlierVectorRows,
    outlierPadding: outlierSize > 0 ? outlierVectorRows * outlierVectorLength - outFeatures : 0,
    indexBits,
  };
}
