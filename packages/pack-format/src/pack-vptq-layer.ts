import { floatTensorFromF32, floatTensorToF32 } from './float-tensor';
import type { FloatTensor, FloatTensorDtype } from './float-tensor';
import { getVptqLayerLayout } from './get-vptq-layer-layout';
import type { VptqLayerLayout } from './get-vptq-layer-layout';
import { packIndices, unpackIndices } from './pack-indices';
import type { IndexArray, VptqLayerData } from './vptq-layer-data';
import type { VptqLayerConfig } from './vptq-layer-config';
import { checkVptqLayerTensors, isPermutation } from './vptq-layer-tensors';
import type { VptqLayerTensors } from './vptq-layer-tensors';

/** One VPTQ layer as stored: its config and its tensors (spec §5.1–5.2). */
export interface PackedVptqLayer {
  readonly config: VptqLayerConfig;
  readonly tensors: VptqLayerTensors;
}

/**
 * Packs an unpacked layer into the published VPTQ tensors (spec §5.2–5.3): main and residual indices merged
 * and bit-packed per (group, vector-row), codebooks as `[G, K·v]`, outlier indices `[1, Ro, O]` u16, perm as
 * u16, norm vectors in original column order, float tensors rounded to `dtype` (round to nearest even).
 *
 * Round the codebooks and norm vectors to `dtype` before the quantizer's column loop uses them (as
 * `quantizeVptqLayer` does with its `storageDtype`), and the packed layer dequantizes to exactly the weight
 * whose error the loop fed back.
 *
 * @param layer - the layer; its arrays must match its config (see {@link VptqLayerData}).
 * @param dtype - storage of codebooks, norm vectors and bias: `'F16'` (as published models), `'BF16'` or `'F32'`.
 * @returns the config (unchanged) and the tensors, ready for `encodeVptqLayerTensors`.
 * @throws {RangeError} when the config is invalid, an array has the wrong length, an index is outside its
 *   codebook or `perm` is not a permutation.
 * @throws {TypeError} when an array has the wrong type.
 */
export function packVptqLayer(layer: VptqLayerData, dtype: FloatTensorDtype): PackedVptqLayer {
  if (typeof layer !== 'object' || layer === null) throw new TypeError(`packVptqLayer: layer must be an object (got ${String(layer)})`);
  const layout = getVptqLayerLayout(layer.config);
  checkVptqLayerData(layer, layout);
  const { config } = layer;
  const float = (values: Float32Array): FloatTensor => floatTensorFromF32(values, dtype);
  const tensors: VptqLayerTensors = {
    centroids: float(concat(layer.codebooks, Float32Array)),
    residualCentroids: layout.hasResidual ? float(concat(layer.residualCodebooks, Float32Array)) : undefined,
    outlierCentroids: layout.hasOutliers ? float(layer.outlierCodebook as Float32Array) : undefined,
    indices: packIndices({
      ...layout,
      main: concat(layer.indices, Uint32Array),
      residual: layout.hasResidual ? concat(layer.residualIndices, Uint32Array) : undefined,
    }),
    outlierIndices: layout.hasOutliers ? (layer.outlierIndices as Uint16Array).slice() : undefined,
    perm: config.enablePerm ? Uint16Array.from(layer.perm) : undefined,
    weightScale: config.enableNorm ? float(layer.weightScale as Float32Array) : undefined,
    weightBias: config.enableNorm ? float(layer.weightBias as Float32Array) : undefined,
    bias: config.bias ? float(layer.bias as Float32Array) : undefined,
  };
  return { config, tensors };
}

/**
 * Unpacks a stored layer, the inverse of {@link packVptqLayer}: codebooks widened to f32 (exactly) and split per
 * group, indices unpacked per group, perm as u32 (the identity without `enablePerm`).
 *
 * @param layer - the config and tensors, e.g. from `readVptqLayerTensors`.
 * @throws {RangeError} when the config is invalid, a tensor is missing, unexpected or of the wrong length, an
 *   outlier index is not below Ko or perm is not a permutation.
 */
export function unpackVptqLayer(layer: PackedVptqLayer): VptqLayerData {
  const { config, tensors } = layer;
  const layout = getVptqLayerLayout(config);
  checkVptqLayerTensors('unpackVptqLayer', layout, tensors);
  const { groupNum, vectorRows, groupSize, vectorLength, numCentroids, numResidualCentroids } = layout;
  const unpacked = unpackIndices(tensors.indices, layout);
  const perGroup = <T extends IndexArray | Float32Array>(values: T, length: number): T[] =>
    Array.from({ length: groupNum }, (_, group) => values.slice(group * length, (group + 1) * length) as T);
  const widen = (tensor: FloatTensor | undefined) => (tensor === undefined ? undefined : floatTensorToF32(tensor));
  return {
    config,
    codebooks: perGroup(floatTensorToF32(tensors.centroids), numCentroids * vectorLength),
    residualCodebooks: layout.hasResidual ? perGroup(floatTensorToF32(tensors.residualCentroids as FloatTensor), numResidualCentroids * vectorLength) : [],
    outlierCodebook: layout.hasOutliers ? widen(tensors.outlierCentroids) : undefined,
    indices: perGroup(unpacked.main, vectorRows * groupSize),
    residualIndices: unpacked.residual === undefined ? [] : perGroup(unpacked.residual, vectorRows * groupSize),
    outlierIndices: layout.hasOutliers ? (tensors.outlierIndices as Uint16Array).slice() : undefined,
    perm: config.enablePerm ? Uint32Array.from(tensors.perm as Uint16Array) : Uint32Array.from({ length: config.inFeatures }, (_, p) => p),
    weightScale: config.enableNorm ? widen(tensors.weightScale) : undefined,
    weightBias: config.enableNorm ? widen(tensors.weightBias) : undefined,
    bias: config.bias ? widen(tensors.bias) : undefined,
  };
}

const fn = 'packVptqLayer';

/** Checks every array of `layer` against its layout: types, lengths, index ranges and the permutation. */
function checkVptqLayerData(layer: VptqLayerData, layout: VptqLayerLayout): void {
  const { groupNum, vectorLength, vectorRows, groupSize, numCentroids, numResidualCentroids } = layout;
  checkArrays('codebooks', layer.codebooks, groupNum, numCentroids * vectorLength, Float32Array);
  checkArrays('indices', layer.indices, groupNum, vectorRows * groupSize);
  layer.indices.forEach((indices, group) => checkIndices(`indices[${group}]`, indices, numCentroids));
  if (layout.hasResidual) {
    checkArrays('residualCodebooks', layer.residualCodebooks, groupNum, numResidualCentroids * vectorLength, Float32Array);
    checkArrays('residualIndices', layer.residualIndices, groupNum, vectorRows * groupSize);
    layer.residualIndices.forEach((indices, group) => checkIndices(`residualIndices[${group}]`, indices, numResidualCentroids));
  } else {
    checkAbsent('residualCodebooks', layer.residualCodebooks.length > 0);
    checkAbsent('residualIndices', layer.residualIndices.length > 0);
  }
  if (layout.hasOutliers) {
    checkArray('outlierCodebook', layer.outlierCodebook, layout.numOutlierCentroids * layout.outlierVectorLength, Float32Array);
    checkArray('outlierIndices', layer.outlierIndices, layout.outlierVectorRows * layout.outlierSize, Uint16Array);
    checkIndices('outlierIndices', layer.outlierIndices as Uint16Array, layout.numOutlierCentroids);
  } else {
    checkAbsent('outlierCodebook', layer.outlierCodebook !== undefined);
    checkAbsent('outlierIndices', layer.outlierIndices !== undefined);
  }
  checkArray('perm', layer.perm, layout.inFeatures, Uint32Array);
  if (!isPermutation(layer.perm)) throw new RangeError(`${fn}: perm must be a permutation of 0..${layout.inFeatures - 1}`);
  if (!layout.enablePerm && layer.perm.some((column, position) => column !== position)) {
    throw new RangeError(`${fn}: perm must be the identity when config.enablePerm is false`);
  }
  for (const key of ['weightScale', 'weightBias'] as const) {
    if (layout.enableNorm) checkArray(key, layer[key], layout.inFeatures, Float32Array);
    else checkAbsent(key, layer[key] !== undefined);
  }
  if (layout.bias) checkArray('bias', layer.bias, layout.outFeatures, Float32Array);
  else checkAbsent('bias', layer.bias !== undefined);
}

type ArrayType = typeof Float32Array | typeof Uint16Array | typeof Uint32Array;

function checkArray(name: string, value: unknown, length: number, type?: ArrayType): void {
  const typeOk = type === undefined ? value instanceof Uint16Array || value instanceof Uint32Array : value instanceof type;
  if (!typeOk) {
    const expected = type === undefined ? 'a Uint16Array or Uint32Array' : `a ${type.name}`;
    throw new TypeError(`${fn}: ${name} must be ${expected} (got ${describe(value)})`);
  }
  if ((value as ArrayLike<number>).length !== length) {
    throw new RangeError(`${fn}: ${name} must have length ${length} (got ${(value as ArrayLike<number>).length})`);
  }
}

function checkArrays(name: string, value: unknown, count: number, length: number, type?: ArrayType): void {
  if (!Array.isArray(value) || value.length !== count) {
    throw new RangeError(`${fn}: ${name} must be an array of ${count} arrays, one per group (got ${describe(value)})`);
  }
  value.forEach((item, group) => checkArray(`${name}[${group}]`, item, length, type));
}

function checkAbsent(name: string, present: boolean): void {
  if (present) throw new RangeError(`${fn}: ${name} must be empty or undefined for this layer config`);
}

function checkIndices(name: string, indices: ArrayLike<number>, limit: number): void {
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= limit) throw new RangeError(`${fn}: ${name} must be below ${limit} (got ${indices[i]} at ${i})`);
  }
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${(value as unknown as ArrayLike<number>).length}`;
  return typeof value;
}

/** The parts one after another in one array of their total length. */
function concat<T extends Uint32Array | Float32Array>(parts: readonly ArrayLike<number>[], type: { new (length: number): T }): T {
  const out = new type(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
