import { PackFormatError } from './pack-format-error';
import { checkVptqLayerConfig } from './get-vptq-layer-layout';

/**
 * The configuration of one VPTQ-quantized linear layer (spec §5.1), in camelCase: the one vocabulary for a
 * quantized layer across the packages (the quantizer produces it, the packed format stores it, the loader
 * and the kernels read it). Field names follow the snake_case JSON of `quantization_config` as noted. Parts
 * that are absent are 0: the JSON's "disabled" markers (-1, or anything ≤ 0, and an outlier vector length
 * ≤ 1) are read as 0 by {@link parseVptqLayerConfig} and written back as -1 by {@link toVptqLayerConfigJson}.
 */
export interface VptqLayerConfig {
  /** `in_features`: columns of W `[out, in]`. */
  readonly inFeatures: number;
  /** `out_features`: rows of W. */
  readonly outFeatures: number;
  /** `vector_lens[1]`: v, the vector length (consecutive output rows of one column). */
  readonly vectorLength: number;
  /** `num_centroids[1]`: K, entries of each main codebook, a power of two ≥ 2. */
  readonly numCentroids: number;
  /** `num_res_centroids[1]`: Kr, entries of each residual codebook, a power of two ≥ 2, or 0 for none. */
  readonly numResidualCentroids: number;
  /** `vector_lens[0]`: vo, the outlier vector length, ≥ 2; 0 when there is no outlier part. */
  readonly outlierVectorLength: number;
  /** `num_centroids[0]`: Ko, outlier codebook entries, a power of two ≤ 65536; 0 when there is no outlier part. */
  readonly numOutlierCentroids: number;
  /** `group_num`: G, the number of main (and residual) codebooks. */
  readonly groupNum: number;
  /** `group_size`: S, columns per codebook; `outlierSize + groupNum · groupSize == inFeatures`. */
  readonly groupSize: number;
  /** `outlier_size`: O, the leading columns (in quantization order) covered by the outlier codebook; 0 without. */
  readonly outlierSize: number;
  /** `enable_norm`: per-column `weight_scale`/`weight_bias` are stored and applied. */
  readonly enableNorm: boolean;
  /** `enable_perm`: a column permutation `perm` is stored. */
  readonly enablePerm: boolean;
  /** `indices_as_float`: legacy; `outlier_indices` is stored as F16 bit patterns instead of I16. */
  readonly indicesAsFloat: boolean;
  /** `bias`: the layer has a bias vector `[out]`. */
  readonly bias: boolean;
}

/** The snake_case JSON form of {@link VptqLayerConfig}, as written in `config.json`. */
export interface VptqLayerConfigJson {
  in_features: number;
  out_features: number;
  vector_lens: [number, number];
  num_centroids: [number, number];
  num_res_centroids: [number, number];
  group_num: number;
  group_size: number;
  outlier_size: number;
  enable_norm: boolean;
  enable_perm: boolean;
  is_indice_packed: boolean;
  indices_as_float: boolean;
  bias: boolean;
}

/**
 * Reads one layer's config from its JSON object and validates it (powers of two, the column split
 * `outlier_size + group_num · group_size == in_features`, `tb ≤ 32`, supported options). Unknown keys
 * (`norm_dim`, `enable_proxy_error`, `vector_quant_dim: "out"`, …) are ignored; `bias` follows Python
 * truthiness because the reference sometimes serializes it oddly; `is_indice_packed` defaults to true (and must
 * be true) and `indices_as_float` defaults to false when absent. The "disabled" markers become 0 (see
 * {@link VptqLayerConfig}), so a config round-trips through {@link toVptqLayerConfigJson} to the canonical
 * -1 markers.
 *
 * @param json - the layer's object from `config_for_layers`, `shared_layer_config` or legacy `quant_config`.
 * @param name - the layer's key, used in error messages.
 * @returns the camelCase config.
 * @throws {PackFormatError} `VPTQ_PACK_CONFIG` naming the layer and the field.
 */
export function parseVptqLayerConfig(json: unknown, name: string): VptqLayerConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw configError(name, `layer config must be an object (got ${describe(json)})`);
  }
  const object = json as Record<string, unknown>;
  const integer = (key: string): number => {
    const value = object[key];
    if (!Number.isSafeInteger(value)) throw configError(name, `${key} must be an integer (got ${describe(value)})`);
    return value as number;
  };
  const pair = (key: string): [number, number] => {
    const value = object[key];
    if (!Array.isArray(value) || value.length !== 2 || !value.every((item) => Number.isSafeInteger(item))) {
      throw configError(name, `${key} must be a pair of integers [outlier, main] (got ${describe(value)})`);
    }
    return [value[0], value[1]];
  };
  const flag = (key: string, fallback?: boolean): boolean => {
    const value = object[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'boolean') throw configError(name, `${key} must be true or false (got ${describe(value)})`);
    return value;
  };
  if (object.vector_quant_dim !== undefined && object.vector_quant_dim !== 'out') {
    throw configError(name, `vector_quant_dim must be "out", the only layout the format defines (got ${describe(object.vector_quant_dim)})`);
  }
  const [outlierVectorLength, vectorLength] = pair('vector_lens');
  const [numOutlierCentroids, numCentroids] = pair('num_centroids');
  const [outlierResidualCentroids, numResidualCentroids] = pair('num_res_centroids');
  if (outlierResidualCentroids > 0) {
    throw configError(name, `num_res_centroids[0] must be -1: the format has no residual for outliers (got ${outlierResidualCentroids})`);
  }
  if (flag('is_indice_packed', true) !== true) {
    throw configError(name, 'is_indice_packed must be true: the unpacked legacy layout is not supported (no published model uses it)');
  }
  // The reference enables the outlier part only for vo > 1 and Ko > 0 (spec §5.1); anything else means none.
  const hasOutliers = outlierVectorLength > 1 && numOutlierCentroids > 0;
  const config: VptqLayerConfig = {
    inFeatures: integer('in_features'),
    outFeatures: integer('out_features'),
    vectorLength,
    numCentroids,
    numResidualCentroids: numResidualCentroids > 0 ? numResidualCentroids : 0,
    outlierVectorLength: hasOutliers ? outlierVectorLength : 0,
    numOutlierCentroids: hasOutliers ? numOutlierCentroids : 0,
    groupNum: integer('group_num'),
    groupSize: integer('group_size'),
    outlierSize: integer('outlier_size'),
    enableNorm: flag('enable_norm'),
    enablePerm: flag('enable_perm'),
    indicesAsFloat: object.indices_as_float === null ? false : flag('indices_as_float', false),
    bias: pythonTruthy(object.bias),
  };
  const problem = checkVptqLayerConfig(config);
  if (problem !== undefined) throw configError(name, problem);
  return config;
}

/**
 * The snake_case JSON object of a layer config, with keys in the reference's `init_args` order plus
 * `indices_as_float`. Absent parts are written with the reference's -1 markers; `num_res_centroids[0]` is
 * always -1 and `is_indice_packed` always true.
 *
 * @throws {RangeError} if the config is invalid (see {@link getVptqLayerLayout}).
 */
export function toVptqLayerConfigJson(config: VptqLayerConfig): VptqLayerConfigJson {
  const problem = checkVptqLayerConfig(config);
  if (problem !== undefined) throw new RangeError(`toVptqLayerConfigJson: ${problem}`);
  return {
    in_features: config.inFeatures,
    out_features: config.outFeatures,
    vector_lens: [config.numOutlierCentroids > 0 ? config.outlierVectorLength : -1, config.vectorLength],
    num_centroids: [config.numOutlierCentroids > 0 ? config.numOutlierCentroids : -1, config.numCentroids],
    num_res_centroids: [-1, config.numResidualCentroids > 0 ? config.numResidualCentroids : -1],
    group_num: config.groupNum,
    group_size: config.groupSize,
    outlier_size: config.outlierSize,
    enable_norm: config.enableNorm,
    enable_perm: config.enablePerm,
    is_indice_packed: true,
    indices_as_float: config.indicesAsFloat,
    bias: config.bias,
  };
}

function pythonTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function configError(name: string, detail: string): PackFormatError {
  return new PackFormatError('VPTQ_PACK_CONFIG', `layer "${name}": ${detail}`, { tensor: name });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
