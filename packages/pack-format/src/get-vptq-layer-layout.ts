import { packedRowWords } from './pack-indices';
import type { VptqLayerConfig } from './vptq-layer-config';

/**
 * A {@link VptqLayerConfig} with the quantities derived from it (spec §5.1), the spec's symbols noted. These
 * fix the shapes of every stored tensor (spec §5.2).
 */
export interface VptqLayerLayout extends VptqLayerConfig {
  /** Kr > 0. */
  readonly hasResidual: boolean;
  /** Ko > 0 (the reference's enable_outlier = vo > 1 && Ko > 0). */
  readonly hasOutliers: boolean;
  /** R = ceil(out / v), vector-rows per group. */
  readonly vectorRows: number;
  /** pad = R·v − out, zero rows appended to W before vectorizing. */
  readonly paddingRows: number;
  /** Ro = ceil(out / vo), 0 without outliers. */
  readonly outlierVectorRows: number;
  /** opad = Ro·vo − out, 0 without outliers. */
  readonly outlierPaddingRows: number;
  /** ib = log2 K. */
  readonly indexBits: number;
  /** rb = log2 Kr, 0 without residual. */
  readonly residualBits: number;
  /** tb = ib + rb ≤ 32: bits of one packed (main | residual) field. */
  readonly totalBits: number;
  /** P = ceil(S·tb/32), words per packed (group, vector-row) row. */
  readonly rowWords: number;
}

/**
 * Validates a layer config and derives its layout (spec §5.1).
 *
 * @param config - the layer config.
 * @returns the config with R, pad, Ro, ib, rb, tb and P.
 * @throws {RangeError} if K, or Kr or Ko when not 0, is not a power of two ≥ 2, a size is not a positive
 * integer, a count is negative (absent parts are 0), `outlierSize + groupNum · groupSize != inFeatures`,
 * the outlier part is absent but vo or O is not 0, present with vo < 2, tb > 32, or `enablePerm` with more
 * than 65536 columns (perm is stored as uint16).
 */
export function getVptqLayerLayout(config: VptqLayerConfig): VptqLayerLayout {
  const problem = checkVptqLayerConfig(config);
  if (problem !== undefined) throw new RangeError(`getVptqLayerLayout: ${problem}`);
  return deriveLayout(config);
}

/** The first rule `config` breaks, as a message fragment, or undefined when it is valid. */
export function checkVptqLayerConfig(config: VptqLayerConfig): string | undefined {
  if (typeof config !== 'object' || config === null) return 'config must be an object';
  const positive: [string, number][] = [
    ['in_features', config.inFeatures],
    ['out_features', config.outFeatures],
    ['vector_lens[1]', config.vectorLength],
    ['group_num', config.groupNum],
    ['group_size', config.groupSize],
  ];
  for (const [key, value] of positive) {
    if (!Number.isSafeInteger(value) || value < 1) return `${key} must be a positive integer (got ${value})`;
  }
  for (const [key, value] of [
    ['num_centroids[1]', config.numCentroids],
    ['num_res_centroids[1]', config.numResidualCentroids],
    ['vector_lens[0]', config.outlierVectorLength],
    ['num_centroids[0]', config.numOutlierCentroids],
    ['outlier_size', config.outlierSize],
  ] as const) {
    if (!Number.isSafeInteger(value)) return `${key} must be an integer (got ${value})`;
    // One convention in memory: an absent part is 0; the JSON's -1 markers exist only in config.json.
    if (value < 0) return `${key} must be ≥ 0, with 0 for an absent part (got ${value}; parseVptqLayerConfig reads the JSON's -1 as 0)`;
  }
  // The packer takes int(log2 K) and the readers ceil(log2 K); they agree only for powers of two.
  if (!isPowerOfTwo(config.numCentroids)) {
    return `num_centroids[1] must be a power of two ≥ 2 (got ${config.numCentroids})`;
  }
  if (config.numResidualCentroids !== 0 && !isPowerOfTwo(config.numResidualCentroids)) {
    return `num_res_centroids[1] must be a power of two ≥ 2, or 0 for no residual (got ${config.numResidualCentroids})`;
  }
  if (config.numOutlierCentroids === 0) {
    if (config.outlierSize !== 0) {
      return `outlier_size must be 0 when the outlier part is disabled (vector_lens[0] ≤ 1 or num_centroids[0] ≤ 0 disable it; got ${config.outlierSize})`;
    }
    if (config.outlierVectorLength !== 0) return `vector_lens[0] must be 0 without an outlier codebook (got ${config.outlierVectorLength})`;
  } else {
    if (!isPowerOfTwo(config.numOutlierCentroids) || config.numOutlierCentroids > 65536) {
      return `num_centroids[0] must be a power of two from 2 to 65536, since outlier_indices are stored as 16 bits (got ${config.numOutlierCentroids})`;
    }
    if (config.outlierVectorLength < 2) {
      return `vector_lens[0] must be at least 2 with an outlier codebook: the format reads vo ≤ 1 as no outlier part (got ${config.outlierVectorLength})`;
    }
  }
  if (config.outlierSize + config.groupNum * config.groupSize !== config.inFeatures) {
    return `outlier_size + group_num · group_size must equal in_features (got ${config.outlierSize} + ${config.groupNum} · ${config.groupSize} = ${config.outlierSize + config.groupNum * config.groupSize}, in_features = ${config.inFeatures})`;
  }
  const totalBits = Math.log2(config.numCentroids) + (config.numResidualCentroids > 0 ? Math.log2(config.numResidualCentroids) : 0);
  if (totalBits > 32) {
    return `log2 num_centroids[1] + log2 num_res_centroids[1] must be at most 32 bits (got ${totalBits})`;
  }
  if (config.enablePerm && config.inFeatures > 65536) {
    return `in_features must be at most 65536 with enable_perm, since perm is stored as uint16 (got ${config.inFeatures})`;
  }
  for (const key of ['enableNorm', 'enablePerm', 'indicesAsFloat', 'bias'] as const) {
    if (typeof config[key] !== 'boolean') return `${key} must be a boolean (got ${String(config[key])})`;
  }
  return undefined;
}

function deriveLayout(config: VptqLayerConfig): VptqLayerLayout {
  const hasOutliers = config.numOutlierCentroids > 0;
  const hasResidual = config.numResidualCentroids > 0;
  const vectorRows = Math.ceil(config.outFeatures / config.vectorLength);
  const outlierVectorRows = hasOutliers ? Math.ceil(config.outFeatures / config.outlierVectorLength) : 0;
  const indexBits = Math.log2(config.numCentroids);
  const residualBits = hasResidual ? Math.log2(config.numResidualCentroids) : 0;
  const totalBits = indexBits + residualBits;
  return {
    ...config,
    hasResidual,
    hasOutliers,
    vectorRows,
    paddingRows: vectorRows * config.vectorLength - config.outFeatures,
    outlierVectorRows,
    outlierPaddingRows: hasOutliers ? outlierVectorRows * config.outlierVectorLength - config.outFeatures : 0,
    indexBits,
    residualBits,
    totalBits,
    rowWords: packedRowWords(config.groupSize, totalBits),
  };
}

function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 2 && value <= 2 ** 32 && Math.log2(value) % 1 === 0;
}
