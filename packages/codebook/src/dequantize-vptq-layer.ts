import { assertBoolean, assertInteger, assertPowerOfTwo, describe } from './validate';
import type { VptqLayerData } from './vptq-layer-result';

const fn = 'dequantizeVptqLayer';

/**
 * Rebuilds the `[outFeatures, inFeatures]` f32 weight of a VPTQ layer with the reference semantics (spec §5.4):
 * decode every column in quantization order from its part's codebook(s), move it to its original position
 * `perm[p]`, then apply `w·weightScale[c] + weightBias[c]`. Main and residual entries are summed and rounded to
 * f32 before the norm, exactly as `quantizeVptqLayer` computed them.
 *
 * @param layer - a {@link VptqLayerData} (for example the result of `quantizeVptqLayer`).
 * @returns `[outFeatures, inFeatures]` Float32Array, row-major.
 * @throws {RangeError} when the config is inconsistent, an array has the wrong length, `perm` is not a
 *   permutation, or an index is outside its codebook.
 */
export function dequantizeVptqLayer(layer: VptqLayerData): Float32Array {
  checkLayer(layer);
  const { outFeatures: rows, inFeatures: cols, vectorLength, outlierVectorLength, outlierSize, groupSize } = layer.config;
  const residual = layer.config.residualCentroids > 0;
  const output = new Float32Array(rows * cols);
  const norm = layer.config.norm;
  const scale = norm ? layer.weightScale : undefined;
  const bias = norm ? layer.weightBias : undefined;

  for (let position = 0; position < cols; position++) {
    const column = layer.perm[position];
    const columnScale = scale === undefined ? 1 : scale[column];
    const columnBias = bias === undefined ? 0 : bias[column];
    if (position < outlierSize) {
      const codebook = layer.outlierCodebook as Float32Array;
      const indices = layer.outlierIndices as Uint16Array;
      for (let row = 0; row < rows; row++) {
        const vectorRow = Math.floor(row / outlierVectorLength);
        const value = codebook[indices[vectorRow * outlierSize + position] * outlierVectorLength + (row % outlierVectorLength)];
        output[row * cols + column] = applyNorm(value, columnScale, columnBias, norm);
      }
      continue;
    }
    const group = Math.floor((position - outlierSize) / groupSize);
    const local = position - outlierSize - group * groupSize;
    const codebook = layer.codebooks[group];
    const indices = layer.indices[group];
    const residualCodebook = residual ? layer.residualCodebooks[group] : undefined;
    const residualIndices = residual ? layer.residualIndices[group] : undefined;
    for (let row = 0; row < rows; row++) {
      const vectorRow = Math.floor(row / vectorLength);
      const within = row % vectorLength;
      const entry = vectorRow * groupSize + local;
      let value = codebook[indices[entry] * vectorLength + within];
      if (residualCodebook !== undefined && residualIndices !== undefined) {
        value = Math.fround(value + residualCodebook[residualIndices[entry] * vectorLength + within]);
      }
      output[row * cols + column] = applyNorm(value, columnScale, columnBias, norm);
    }
  }
  return output;
}

/**
 * The per-column norm of spec §4.4 in f32: `w·scale + bias`, or `w` itself when norm is off. Shared with the
 * quantizer so that its final weight and this dequantization agree bit for bit.
 */
export function applyNorm(value: number, scale: number, bias: number, norm: boolean): number {
  return norm ? Math.fround(value * scale + bias) : value;
}

function checkLayer(layer: VptqLayerData): void {
  if (typeof layer !== 'object' || layer === null || typeof layer.config !== 'object' || layer.config === null) {
    throw new TypeError(`${fn}: layer must be an object with a config (got ${describe(layer)})`);
  }
  const config = layer.config;
  const rows = assertInteger(fn, 'config.outFeatures', config.outFeatures, 1);
  const cols = assertInteger(fn, 'config.inFeatures', config.inFeatures, 1);
  const vectorLength = assertInteger(fn, 'config.vectorLength', config.vectorLength, 1, rows);
  const centroids = assertPowerOfTwo(fn, 'config.centroids', config.centroids, 2 ** 31);
  const residualCentroids = config.residualCentroids;
  if (residualCentroids !== 0) assertPowerOfTwo(fn, 'config.residualCentroids (or 0)', residualCentroids, 2 ** 31);
  const groups = assertInteger(fn, 'config.groups', config.groups, 1, cols);
  const groupSize = assertInteger(fn, 'config.groupSize', config.groupSize, 1, cols);
  const outlierSize = assertInteger(fn, 'config.outlierSize', config.outlierSize, 0, cols);
  assertBoolean(fn, 'config.norm', config.norm);
  assertBoolean(fn, 'config.perm', config.perm);
  if (outlierSize + groups * groupSize !== cols) {
    throw new RangeError(
      `${fn}: config.outlierSize + groups × groupSize must equal inFeatures (got ${outlierSize} + ${groups} × ${groupSize} ≠ ${cols})`,
    );
  }
  const vectorRows = Math.ceil(rows / vectorLength);

  checkArrays('codebooks', layer.codebooks, groups, centroids * vectorLength, Float32Array);
  checkArrays('indices', layer.indices, groups, vectorRows * groupSize);
  for (let group = 0; group < groups; group++) checkIndices(`indices[${group}]`, layer.indices[group], centroids);
  if (residualCentroids > 0) {
    checkArrays('residualCodebooks', layer.residualCodebooks, groups, residualCentroids * vectorLength, Float32Array);
    checkArrays('residualIndices', layer.residualIndices, groups, vectorRows * groupSize);
    for (let group = 0; group < groups; group++) checkIndices(`residualIndices[${group}]`, layer.residualIndices[group], residualCentroids);
  }

  if (outlierSize > 0) {
    const outlierVectorLength = assertInteger(fn, 'config.outlierVectorLength', config.outlierVectorLength, 1, rows);
    const outlierCentroids = assertPowerOfTwo(fn, 'config.outlierCentroids', config.outlierCentroids, 65536);
    checkArray('outlierCodebook', layer.outlierCodebook, outlierCentroids * outlierVectorLength, Float32Array);
    checkArray('outlierIndices', layer.outlierIndices, Math.ceil(rows / outlierVectorLength) * outlierSize, Uint16Array);
    checkIndices('outlierIndices', layer.outlierIndices as Uint16Array, outlierCentroids);
  }

  checkArray('perm', layer.perm, cols, Uint32Array);
  const seen = new Uint8Array(cols);
  for (let position = 0; position < cols; position++) {
    const column = layer.perm[position];
    if (column >= cols || seen[column] === 1) {
      throw new RangeError(`${fn}: perm must be a permutation of 0..${cols - 1} (got ${column} at position ${position})`);
    }
    seen[column] = 1;
  }
  if (config.norm) {
    checkArray('weightScale', layer.weightScale, cols, Float32Array);
    checkArray('weightBias', layer.weightBias, cols, Float32Array);
  }
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
  for (let group = 0; group < count; group++) checkArray(`${name}[${group}]`, value[group], length, type);
}

function checkIndices(name: string, indices: ArrayLike<number>, limit: number): void {
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= limit) throw new RangeError(`${fn}: ${name} must be below ${limit} (got ${indices[i]} at ${i})`);
  }
}
