import type { PreparedHessian } from '@vptq/hessian';
import { createNearestCentroidSearch, kmeans } from '@vptq/kmeans';

import { CodebookError } from './codebook-error';
import { runColumnLoop } from './column-loop';
import { applyNorm } from './dequantize-vptq-layer';
import { deriveLayout } from './get-vptq-layout';
import type { VptqLayout, VptqLayoutOptions } from './get-vptq-layout';
import { measureProxyError } from './measure-proxy-error';
import { readPrepared } from './read-prepared';
import type { PreparedInputs } from './read-prepared';
import { assertBoolean, assertInteger } from './validate';
import { createVptqColumnQuantizer } from './vptq-column-quantizer';
import type { PartCodebooks } from './vptq-column-quantizer';
import type { VptqLayerResult } from './vptq-layer-result';
import { createIndexArray, listParts } from './vptq-parts';
import type { VptqPart } from './vptq-parts';
import type { WeightMatrix } from './weight-matrix';

/** The stage a {@link VptqOptions.onProgress} report belongs to, in the order they run. */
export type VptqPhase = 'kmeans' | 'column-loop' | 'residual-kmeans' | 'column-loop-2';

/** Options of {@link quantizeVptqLayer}: the layout (see `getVptqLayout`) plus how to run it. */
export interface VptqOptions extends VptqLayoutOptions {
  /** Per-input-column min–max normalization (the reference's `enable_norm`). Default true. */
  readonly norm?: boolean;
  /**
   * Optimize the error in original weight units when `norm` is on: k-means weights `scale_c²·H_cc` and the
   * column loop on `D·H·D` (D = diag(scale)), instead of the reference's unscaled H. Default false (reference).
   */
  readonly scaleAwareObjective?: boolean;
  /** Lloyd iterations per k-means. Default 100 (reference `kiter`). */
  readonly kmeansIterations?: number;
  /** Relative tolerance that stops a k-means early. Default 1e-5 (reference `ktol`). */
  readonly kmeansTolerance?: number;
  /** k-means initialization. Default `'kmeans++'` (the reference uses cuML's `'random'`). */
  readonly kmeansInit?: 'random' | 'kmeans++';
  /** Columns per lazy-update block of the column loop. Default 128. */
  readonly blockSize?: number;
  /** Seed of every k-means (each part derives its own stream from it). Default 0. */
  readonly seed?: number;
  /** Progress reports: `fraction` in [0, 1] of the given phase; phases run in {@link VptqPhase} order. */
  readonly onProgress?: (phase: VptqPhase, fraction: number) => void;
}

/** The internal trace of one run: the result and the column loop's own output, for tests and diagnostics. */
export interface VptqRun {
  readonly result: VptqLayerResult;
  /** `[out, in]` f32: the final column loop's output, un-permuted and de-normalized. */
  readonly quantizedWeight: Float32Array;
}

const fn = 'quantizeVptqLayer';

/**
 * Quantizes one linear layer with VPTQ (Liu et al. 2024; spec §2–§4): optional per-column min–max norm, dead
 * columns zeroed, columns in the prepared Hessian's order, an outlier part and G groups, each with a codebook from
 * Hessian-weighted k-means over vectors of v consecutive output rows, then the channel-independent second-order
 * column loop (Euclidean-nearest main index, greedy residual index, GPTQ error feedback in blocks). With a residual
 * codebook the residual k-means runs on the error-compensated residual of the first loop, and the whole loop is
 * run again from the original weight with both codebooks.
 *
 * @param weight - `[out, in]` f32 `nn.Linear` weight.
 * @param prepared - `prepareHessian` of this layer's `[in, in]` input Hessian; its `perm` sets the column order
 *   (identity = perm off) and its `diagonal` the k-means sample weights.
 * @returns codebooks, indices, perm, norm and proxy errors; `dequantizeVptqLayer` rebuilds the weight.
 * @throws {RangeError} for bad options (see `getVptqLayout`) or a prepared Hessian of the wrong size.
 * @throws {CodebookError} `VPTQ_CODEBOOK_NON_FINITE` when the error feedback overflows.
 */
export function quantizeVptqLayer(weight: WeightMatrix, prepared: PreparedHessian, options: VptqOptions): VptqLayerResult {
  return runVptq(weight, prepared, options).result;
}

/** {@link quantizeVptqLayer}, also returning the column loop's own output (not part of the public API). */
export function runVptq(weight: WeightMatrix, prepared: PreparedHessian, options: VptqOptions): VptqRun {
  assertWeightShape(weight);
  const layout = deriveLayout(fn, weight.rows, weight.cols, options);
  const settings = readSettings(options);
  const inputs = readPrepared(fn, prepared, weight.cols);
  checkFinite(weight);
  const { rows, cols } = weight;
  const report = settings.onProgress;

  const norm = settings.norm ? computeColumnNorm(weight) : undefined;
  const base = toWorkingLayout(weight, inputs, norm);
  const columnScale = norm !== undefined && settings.scaleAwareObjective ? permuteScale(norm.scale, inputs.perm) : undefined;
  const sampleWeights = columnSampleWeights(inputs.diagonal, columnScale);
  const parts = listParts(layout);
  const columnPart = assignColumnsToParts(parts, cols);

  const initial = new Float32Array(cols * rows);
  const codebooks: Float32Array[] = [];
  report?.('kmeans', 0);
  parts.forEach((part, partIndex) => {
    const { codebook, assignments } = clusterPart(base, rows, part, part.centroids, sampleWeights, settings, partIndex);
    codebooks.push(codebook);
    fillFromAssignments(initial, rows, part, codebook, assignments);
    report?.('kmeans', (partIndex + 1) / parts.length);
  });

  const toOriginal = (quantized: Float32Array): Float32Array => toOriginalLayout(quantized, rows, cols, inputs.perm, norm);
  const before = measureProxyError(weight, toOriginal(initial), prepared);

  const residualWanted = layout.residualCentroids > 0;
  const firstPass = runPass(base, rows, cols, inputs, settings, parts, codebooks, undefined, columnPart, columnScale, residualWanted, 'column-loop');
  let finalPass = firstPass;
  let residualCodebooks: (Float32Array | undefined)[] = [];
  if (residualWanted) {
    const residual = firstPass.residual as Float32Array;
    report?.('residual-kmeans', 0);
    const groupParts = parts.filter((part) => part.residualCentroids > 0).length;
    let done = 0;
    residualCodebooks = parts.map((part, partIndex) => {
      if (part.residualCentroids === 0) return undefined;
      const stream = parts.length + partIndex;
      const { codebook } = clusterPart(residual, rows, part, part.residualCentroids, sampleWeights, settings, stream);
      report?.('residual-kmeans', ++done / groupParts);
      return codebook;
    });
    finalPass = runPass(base, rows, cols, inputs, settings, parts, codebooks, residualCodebooks, columnPart, columnScale, false, 'column-loop-2');
  }

  const quantizedWeight = toOriginal(finalPass.quantized);
  const firstPassWeight = residualWanted ? toOriginal(firstPass.quantized) : quantizedWeight;
  const proxyError = {
    before,
    firstPass: residualWanted ? measureProxyError(weight, firstPassWeight, prepared) : Number.NaN,
    after: measureProxyError(weight, quantizedWeight, prepared),
  };
  if (!residualWanted) proxyError.firstPass = proxyError.after;

  const hasOutliers = layout.outlierSize > 0;
  const groupStart = hasOutliers ? 1 : 0;
  const result: VptqLayerResult = {
    config: {
      inFeatures: cols,
      outFeatures: rows,
      vectorLength: layout.vectorLength,
      centroids: layout.centroids,
      residualCentroids: layout.residualCentroids,
      outlierVectorLength: layout.outlierVectorLength,
      outlierCentroids: layout.outlierCentroids,
      outlierSize: layout.outlierSize,
      groups: layout.groups,
      groupSize: layout.groupSize,
      norm: norm !== undefined,
      perm: inputs.permuted,
    },
    codebooks: codebooks.slice(groupStart),
    residualCodebooks: residualWanted ? (residualCodebooks.slice(groupStart) as Float32Array[]) : [],
    outlierCodebook: hasOutliers ? codebooks[0] : undefined,
    indices: finalPass.parts.slice(groupStart).map((part) => part.indices),
    residualIndices: residualWanted ? finalPass.parts.slice(groupStart).map((part) => part.residualIndices as Uint16Array | Uint32Array) : [],
    outlierIndices: hasOutliers ? (finalPass.parts[0].indices as Uint16Array) : undefined,
    perm: inputs.perm,
    weightScale: norm?.scale,
    weightBias: norm?.bias,
    proxyError,
  };
  return { result, quantizedWeight };
}

interface Settings {
  readonly norm: boolean;
  readonly scaleAwareObjective: boolean;
  readonly kmeansIterations: number;
  readonly kmeansTolerance: number;
  readonly kmeansInit: 'random' | 'kmeans++';
  readonly blockSize: number;
  readonly seed: number;
  readonly onProgress: ((phase: VptqPhase, fraction: number) => void) | undefined;
}

function readSettings(options: VptqOptions): Settings {
  const kmeansTolerance = options.kmeansTolerance ?? 1e-5;
  if (typeof kmeansTolerance !== 'number' || !(kmeansTolerance >= 0 && Number.isFinite(kmeansTolerance))) {
    throw new RangeError(`${fn}: kmeansTolerance must be a finite number ≥ 0 (got ${String(kmeansTolerance)})`);
  }
  const kmeansInit = options.kmeansInit ?? 'kmeans++';
  if (kmeansInit !== 'random' && kmeansInit !== 'kmeans++') {
    throw new RangeError(`${fn}: kmeansInit must be 'random' or 'kmeans++' (got ${String(kmeansInit)})`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`${fn}: onProgress must be a function (got ${typeof options.onProgress})`);
  }
  return {
    norm: assertBoolean(fn, 'norm', options.norm ?? true),
    scaleAwareObjective: assertBoolean(fn, 'scaleAwareObjective', options.scaleAwareObjective ?? false),
    kmeansIterations: assertInteger(fn, 'kmeansIterations', options.kmeansIterations ?? 100, 1),
    kmeansTolerance,
    kmeansInit,
    blockSize: assertInteger(fn, 'blockSize', options.blockSize ?? 128, 1),
    seed: assertInteger(fn, 'seed', options.seed ?? 0, 0, 0xffffffff),
    onProgress: options.onProgress,
  };
}

function assertWeightShape(weight: WeightMatrix): void {
  if (typeof weight !== 'object' || weight === null || !(weight.data instanceof Float32Array)) {
    throw new TypeError(`${fn}: weight.data must be a Float32Array (got ${typeof weight?.data})`);
  }
  assertInteger(fn, 'weight.rows', weight.rows, 1);
  assertInteger(fn, 'weight.cols', weight.cols, 1);
  if (weight.data.length !== weight.rows * weight.cols) {
    throw new RangeError(`${fn}: weight.data must hold rows × cols values (got ${weight.data.length} for ${weight.rows} × ${weight.cols})`);
  }
}

function checkFinite(weight: WeightMatrix): void {
  const { data, cols } = weight;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${fn}: weight must be finite (got ${data[i]} at row ${Math.floor(i / cols)}, column ${i % cols})`);
    }
  }
}

interface ColumnNorm {
  /** `[in]` f32, original order. */
  readonly scale: Float32Array;
  /** `[in]` f32, original order. */
  readonly bias: Float32Array;
}

/**
 * Per-column min–max norm (spec §4.4): `scale = max − min`, `bias = min`. A constant column would divide by
 * zero (the reference produces NaN there); it gets scale 1 instead, so it normalizes to all zeros and
 * dequantizes to `q + bias`, and the stored scale stays meaningful for the packed format.
 */
function computeColumnNorm(weight: WeightMatrix): ColumnNorm {
  const { data, rows, cols } = weight;
  const low = new Float32Array(cols).fill(Infinity);
  const high = new Float32Array(cols).fill(-Infinity);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const value = data[row * cols + col];
      if (value < low[col]) low[col] = value;
      if (value > high[col]) high[col] = value;
    }
  }
  const scale = new Float32Array(cols);
  for (let col = 0; col < cols; col++) {
    const range = Math.fround(high[col] - low[col]);
    scale[col] = range > 0 ? range : 1;
  }
  return { scale, bias: low };
}

/**
 * The weight as the loop reads it: normalized, dead columns zeroed, columns in quantization order, and stored
 * transposed (`[in, out]`) so that each column (and every vector in it) is contiguous.
 */
function toWorkingLayout(weight: WeightMatrix, inputs: PreparedInputs, norm: ColumnNorm | undefined): Float32Array {
  const { data, rows, cols } = weight;
  const working = new Float32Array(cols * rows);
  for (let position = 0; position < cols; position++) {
    const column = inputs.perm[position];
    if (inputs.dead[column] === 1) continue;
    const offset = position * rows;
    if (norm === undefined) {
      for (let row = 0; row < rows; row++) working[offset + row] = data[row * cols + column];
    } else {
      const scale = norm.scale[column];
      const bias = norm.bias[column];
      for (let row = 0; row < rows; row++) working[offset + row] = (data[row * cols + column] - bias) / scale;
    }
  }
  return working;
}

/** The loop's `[in, out]` quantization-order output as an `[out, in]` weight in original units and order. */
function toOriginalLayout(quantized: Float32Array, rows: number, cols: number, perm: Uint32Array, norm: ColumnNorm | undefined): Float32Array {
  const output = new Float32Array(rows * cols);
  for (let position = 0; position < cols; position++) {
    const column = perm[position];
    const offset = position * rows;
    const scale = norm === undefined ? 1 : norm.scale[column];
    const bias = norm === undefined ? 0 : norm.bias[column];
    for (let row = 0; row < rows; row++) {
      output[row * cols + column] = applyNorm(quantized[offset + row], scale, bias, norm !== undefined);
    }
  }
  return output;
}

function permuteScale(scale: Float32Array, perm: Uint32Array): Float64Array {
  const permuted = new Float64Array(perm.length);
  for (let position = 0; position < perm.length; position++) permuted[position] = scale[perm[position]];
  return permuted;
}

/** Per-column k-means weight H_cc (spec §2), times scale_c² under the scale-aware objective. */
function columnSampleWeights(diagonal: Float64Array, columnScale: Float64Array | undefined): Float64Array {
  const weights = new Float64Array(diagonal.length);
  for (let position = 0; position < diagonal.length; position++) {
    const scale = columnScale === undefined ? 1 : columnScale[position];
    weights[position] = diagonal[position] * scale * scale;
  }
  return weights;
}

function assignColumnsToParts(parts: readonly VptqPart[], cols: number): Uint32Array {
  const columnPart = new Uint32Array(cols);
  parts.forEach((part, partIndex) => columnPart.fill(partIndex, part.start, part.start + part.size));
  return columnPart;
}

/**
 * Hessian-weighted k-means over the vectors of one part (spec §2 step 4): vector `n = local·R + r` holds rows
 * [r·v, r·v + v) of the part's column `local`, zero-padded, with sample weight H_cc, scaled by the share of real
 * rows for the padded last vector. `source` is an `[in, out]` transposed matrix in quantization order.
 */
function clusterPart(
  source: Float32Array,
  rows: number,
  part: VptqPart,
  count: number,
  sampleWeights: Float64Array,
  settings: Settings,
  stream: number,
): { codebook: Float32Array; assignments: Uint32Array } {
  const { start, size, vectorLength: length, vectorRows } = part;
  const points = new Float32Array(size * vectorRows * length);
  const weights = new Float64Array(size * vectorRows);
  for (let local = 0; local < size; local++) {
    const offset = (start + local) * rows;
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const vector = local * vectorRows + vectorRow;
      const first = vectorRow * length;
      const filled = Math.min(length, rows - first);
      for (let t = 0; t < filled; t++) points[vector * length + t] = source[offset + first + t];
      weights[vector] = (sampleWeights[start + local] * filled) / length;
    }
  }
  const clustering = kmeans({ data: points, rows: size * vectorRows, cols: length }, count, {
    weights,
    init: settings.kmeansInit,
    seed: deriveSeed(settings.seed, stream),
    maxIterations: settings.kmeansIterations,
    tolerance: settings.kmeansTolerance,
  });
  const codebook = clustering.centroids;
  for (let i = 0; i < codebook.length; i++) {
    if (!Number.isFinite(codebook[i])) {
      throw new CodebookError('VPTQ_CODEBOOK_NON_FINITE', `${fn}: k-means produced a non-finite centroid (part starting at column ${start})`);
    }
  }
  return { codebook, assignments: clustering.assignments };
}

/** A distinct, fixed seed per k-means run, so parts never share a random stream. */
function deriveSeed(seed: number, stream: number): number {
  return (seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
}

function fillFromAssignments(target: Float32Array, rows: number, part: VptqPart, codebook: Float32Array, assignments: Uint32Array): void {
  const { start, size, vectorLength: length, vectorRows } = part;
  for (let local = 0; local < size; local++) {
    const offset = (start + local) * rows;
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const entry = assignments[local * vectorRows + vectorRow] * length;
      const first = vectorRow * length;
      const filled = Math.min(length, rows - first);
      for (let t = 0; t < filled; t++) target[offset + first + t] = codebook[entry + t];
    }
  }
}

interface PassOutput {
  readonly quantized: Float32Array;
  readonly residual: Float32Array | undefined;
  readonly parts: readonly PartCodebooks[];
}

function runPass(
  base: Float32Array,
  rows: number,
  cols: number,
  inputs: PreparedInputs,
  settings: Settings,
  parts: readonly VptqPart[],
  codebooks: readonly Float32Array[],
  residualCodebooks: readonly (Float32Array | undefined)[] | undefined,
  columnPart: Uint32Array,
  columnScale: Float64Array | undefined,
  keepResidual: boolean,
  phase: VptqPhase,
): PassOutput {
  const partCodebooks: PartCodebooks[] = parts.map((part, partIndex) => {
    const residualCodebook = residualCodebooks?.[partIndex];
    const entries = part.vectorRows * part.size;
    return {
      part,
      codebook: codebooks[partIndex],
      search: createNearestCentroidSearch({ data: codebooks[partIndex], rows: part.centroids, cols: part.vectorLength }),
      residualCodebook,
      residualSearch:
        residualCodebook === undefined
          ? undefined
          : createNearestCentroidSearch({ data: residualCodebook, rows: part.residualCentroids, cols: part.vectorLength }),
      indices: createIndexArray(entries, part.centroids),
      residualIndices: residualCodebook === undefined ? undefined : createIndexArray(entries, part.residualCentroids),
    };
  });
  // The loop overwrites its working copy; every pass starts from the original normalized, permuted weight.
  const working = base.slice();
  const quantized = new Float32Array(cols * rows);
  const residual = keepResidual ? new Float32Array(cols * rows) : undefined;
  settings.onProgress?.(phase, 0);
  runColumnLoop({
    working,
    rows,
    cols,
    inverseCholesky: inputs.inverseCholesky,
    blockSize: settings.blockSize,
    columnScale,
    quantizeColumn: createVptqColumnQuantizer(rows, partCodebooks, columnPart),
    quantized,
    residual,
    onBlock: (done) => settings.onProgress?.(phase, done / cols),
  });
  for (let i = 0; i < working.length; i++) {
    if (!Number.isFinite(working[i])) {
      throw new CodebookError(
        'VPTQ_CODEBOOK_NON_FINITE',
        `${fn}: the error feedback overflowed (column ${Math.floor(i / rows)} in quantization order became ${working[i]})`,
      );
    }
  }
  return { quantized, residual, parts: partCodebooks };
}
