import type { SafetensorsTensorInput } from './encode-safetensors';
import type { FloatTensor } from './float-tensor';
import { getVptqLayerLayout, type VptqLayerLayout } from './get-vptq-layer-layout';
import type { VptqLayerConfig } from './vptq-layer-config';

/**
 * The stored tensors of one VPTQ linear layer (spec §5.2), with G groups, K/Kr/Ko codebook entries of
 * length v (vo for outliers), R = ceil(out/v), Ro = ceil(out/vo), O outlier columns and P words per
 * packed row. Which optional tensors are present is fixed by the layer config.
 */
export interface VptqLayerTensors {
  /** `centroids.weight`, `[G, K·v]`, viewed as `[G][K][v]`. */
  readonly centroids: FloatTensor;
  /** `res_centroids.weight`, `[G, Kr·v]`; exactly when Kr > 0. */
  readonly residualCentroids?: FloatTensor;
  /** `outlier_centroids.weight`, `[1, Ko·vo]`; exactly when the outlier part is enabled. */
  readonly outlierCentroids?: FloatTensor;
  /** `indices`, `[G, R, P]` packed words (spec §5.3), stored as I32 with the same bytes. */
  readonly indices: Uint32Array;
  /** `outlier_indices`, `[1, Ro, O]` uint16 (stored as I16 bits, or F16 bits with `indicesAsFloat`); with outliers. */
  readonly outlierIndices?: Uint16Array;
  /** `perm`, `[in]` uint16 (stored as I16 bits): perm[p] = the original column at quantized position p; with `enablePerm`. */
  readonly perm?: Uint16Array;
  /** `weight_scale`, `[in]`, original column order; with `enableNorm`. */
  readonly weightScale?: FloatTensor;
  /** `weight_bias`, `[in]`, original column order; with `enableNorm`. */
  readonly weightBias?: FloatTensor;
  /** `bias`, `[out]`; with `bias`. */
  readonly bias?: FloatTensor;
}

/** One expected tensor of a layer: its key in {@link VptqLayerTensors}, stored name suffix and shape. */
export interface VptqLayerTensorSpec {
  readonly key: keyof VptqLayerTensors;
  /** The name after the module prefix, e.g. `centroids.weight`. */
  readonly suffix: string;
  readonly shape: readonly number[];
}

/**
 * The tensors a layer config requires, in a fixed order, with their shapes (spec §5.2). Prefix each
 * suffix with `moduleName + '.'` for the stored name.
 *
 * @throws {RangeError} if the config is invalid.
 */
export function getVptqLayerTensorSpecs(config: VptqLayerConfig): VptqLayerTensorSpec[] {
  return specsFor(getVptqLayerLayout(config));
}

/** {@link getVptqLayerTensorSpecs} of an already derived layout. */
export function specsFor(layout: VptqLayerLayout): VptqLayerTensorSpec[] {
  const { groupNum: groups, vectorLength, numCentroids, numResidualCentroids, vectorRows, rowWords } = layout;
  const specs: VptqLayerTensorSpec[] = [{ key: 'centroids', suffix: 'centroids.weight', shape: [groups, numCentroids * vectorLength] }];
  if (layout.hasResidual) {
    specs.push({ key: 'residualCentroids', suffix: 'res_centroids.weight', shape: [groups, numResidualCentroids * vectorLength] });
  }
  if (layout.hasOutliers) {
    specs.push({ key: 'outlierCentroids', suffix: 'outlier_centroids.weight', shape: [1, layout.numOutlierCentroids * layout.outlierVectorLength] });
  }
  specs.push({ key: 'indices', suffix: 'indices', shape: [groups, vectorRows, rowWords] });
  if (layout.hasOutliers) {
    specs.push({ key: 'outlierIndices', suffix: 'outlier_indices', shape: [1, layout.outlierVectorRows, layout.outlierSize] });
  }
  if (layout.enablePerm) specs.push({ key: 'perm', suffix: 'perm', shape: [layout.inFeatures] });
  if (layout.enableNorm) {
    specs.push({ key: 'weightScale', suffix: 'weight_scale', shape: [layout.inFeatures] });
    specs.push({ key: 'weightBias', suffix: 'weight_bias', shape: [layout.inFeatures] });
  }
  if (layout.bias) specs.push({ key: 'bias', suffix: 'bias', shape: [layout.outFeatures] });
  return specs;
}

/**
 * The safetensors entries of one layer, named with the module prefix
 * (`model.layers.0.self_attn.q_proj.centroids.weight`, `….indices`, …), ready for `encodeSafetensors`.
 * `indices` is written as I32, `perm` as I16 and `outlier_indices` as I16 (F16 with `indicesAsFloat`),
 * all holding the unsigned bit patterns, like the reference packer.
 *
 * @param moduleName - the linear module's full name, e.g. `model.layers.0.self_attn.q_proj`.
 * @param config - the layer config.
 * @param tensors - the layer's tensors; exactly the ones the config requires.
 * @returns the entries (data are views of the inputs).
 * @throws {RangeError} if a tensor is missing, unexpected, or has the wrong length, perm is not a
 * permutation of 0..in−1, or an outlier index is not below Ko.
 * @throws {TypeError} if a tensor has the wrong array type.
 */
export function encodeVptqLayerTensors(
  moduleName: string,
  config: VptqLayerConfig,
  tensors: VptqLayerTensors,
): SafetensorsTensorInput[] {
  if (typeof moduleName !== 'string' || moduleName.length === 0) {
    throw new TypeError(`encodeVptqLayerTensors: moduleName must be a non-empty string (got ${String(moduleName)})`);
  }
  const layout = getVptqLayerLayout(config);
  const specs = checkVptqLayerTensors('encodeVptqLayerTensors', layout, tensors, moduleName);
  return specs.map((spec): SafetensorsTensorInput => {
    const name = `${moduleName}.${spec.suffix}`;
    const value = tensors[spec.key];
    if (spec.key === 'indices') return { name, dtype: 'I32', shape: spec.shape, data: value as Uint32Array };
    if (spec.key === 'outlierIndices' || spec.key === 'perm') {
      const dtype = spec.key === 'outlierIndices' && config.indicesAsFloat ? 'F16' : 'I16';
      return { name, dtype, shape: spec.shape, data: value as Uint16Array };
    }
    const float = value as FloatTensor;
    return { name, dtype: float.dtype, shape: spec.shape, data: float.data };
  });
}

/**
 * Checks that `tensors` holds exactly the tensors `config` requires, each of the right array type and length,
 * that perm is a permutation and the outlier indices are below Ko.
 *
 * @param fn - the calling function, for messages.
 * @param moduleName - the module, for messages (tensors are then named `<module>.<suffix>`); default none.
 * @returns the specs of the required tensors.
 */
export function checkVptqLayerTensors(
  fn: string,
  layout: VptqLayerLayout,
  tensors: VptqLayerTensors,
  moduleName?: string,
): VptqLayerTensorSpec[] {
  if (typeof tensors !== 'object' || tensors === null) throw new TypeError(`${fn}: tensors must be an object (got ${String(tensors)})`);
  const specs = specsFor(layout);
  const expected = new Set(specs.map((spec) => spec.key));
  for (const key of Object.keys(tensors) as (keyof VptqLayerTensors)[]) {
    if (tensors[key] !== undefined && !expected.has(key)) {
      throw new RangeError(`${fn}: ${moduleName === undefined ? '' : `${moduleName}: `}${key} must be omitted for this layer config`);
    }
  }
  for (const spec of specs) {
    const name = moduleName === undefined ? spec.key : `${moduleName}.${spec.suffix}`;
    const value = tensors[spec.key];
    if (value === undefined) throw new RangeError(`${fn}: ${name} is required by the layer config`);
    let length: number;
    if (spec.key === 'indices') {
      if (!(value instanceof Uint32Array)) throw new TypeError(`${fn}: ${name} must be a Uint32Array`);
      length = value.length;
    } else if (spec.key === 'outlierIndices' || spec.key === 'perm') {
      if (!(value instanceof Uint16Array)) throw new TypeError(`${fn}: ${name} must be a Uint16Array`);
      length = value.length;
    } else {
      const float = value as FloatTensor;
      const validDtype =
        ((float.dtype === 'F16' || float.dtype === 'BF16') && float.data instanceof Uint16Array) ||
        (float.dtype === 'F32' && float.data instanceof Float32Array);
      if (!validDtype) throw new TypeError(`${fn}: ${name} must be F16/BF16 bits in a Uint16Array or F32 in a Float32Array`);
      length = float.data.length;
    }
    const count = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (length !== count) {
      throw new RangeError(`${fn}: ${name} must hold ${count} values for shape [${spec.shape.join(', ')}] (got ${length})`);
    }
  }
  if (tensors.perm !== undefined && !isPermutation(tensors.perm)) {
    throw new RangeError(`${fn}: perm must be a permutation of 0..${layout.inFeatures - 1}`);
  }
  const outlierIndices = tensors.outlierIndices;
  if (outlierIndices !== undefined) {
    const bad = outlierIndices.findIndex((index) => index >= layout.numOutlierCentroids);
    if (bad >= 0) {
      throw new RangeError(`${fn}: outlierIndices must be below Ko = ${layout.numOutlierCentroids} (got ${outlierIndices[bad]} at ${bad})`);
    }
  }
  return specs;
}

/** Whether `values` holds each of 0..length−1 exactly once. */
export function isPermutation(values: ArrayLike<number>): boolean {
  const seen = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isInteger(value) || value < 0 || value >= values.length || seen[value] === 1) return false;
    seen[value] = 1;
  }
  return true;
}
