import type { VptqPart } from '@vptq/codebook/engine';

/** The most rows per vector the column kernel holds in registers (four vec4). */
export const maxGpuVectorLength = 16;
/** Invocations per workgroup of the column kernel. */
const workgroupSize = 256;
/** Workgroup memory for one tile of codebook entries. */
const tileBytes = 8192;
/** Storage buffers bound at once by the column kernel's finalize step. */
const storageBuffersNeeded = 7;

/** What {@link planVptqPass} needs to know about a device. */
export interface VptqPassLimits {
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly minUniformBufferOffsetAlignment: number;
}

/** The longest vector the sweep kernel holds in registers (two vec4 per point). */
const maxSweepVectorLength = 8;
/** The most vector-rows one sweep workgroup owns. */
const maxSweepPoints = 16;

/** How the GPU runs a block's columns: one sweep dispatch per block, or one or two dispatches per column. */
export type VptqColumnLoop = 'sweep' | 'per-column';

/** Tuning of the GPU pass (see `GpuVptqPassOptions`). */
export interface VptqPassTuning {
  readonly pointsPerWorkgroup: number;
  readonly targetWorkgroups: number;
  readonly searchSlices: number | undefined;
  readonly columnLoop: VptqColumnLoop;
  readonly sweepPoints: number | undefined;
  readonly sweepWorkgroups: number;
  readonly useSubgroups: boolean | undefined;
}

/** Where one part lives in the GPU buffers and how its search is split. */
export interface VptqPassPartPlan {
  /** vec4 words per codebook entry, ceil(v/4). */
  readonly vectorWords: number;
  /** Entries staged per tile of workgroup memory. */
  readonly tileEntries: number;
  /** Workgroups along x: ceil(R / pointsPerWorkgroup). */
  readonly tiles: number;
  /** K slices of the main search; 1 = fused into the finalize step (one dispatch per column). */
  readonly searchSlices: number;
  readonly sliceEntries: number;
  /** vec4 word offsets in the codebook buffer. */
  readonly codebookOffset: number;
  readonly residualCodebookOffset: number;
  /** u32 offsets in the index buffer. */
  readonly indexOffset: number;
  readonly residualIndexOffset: number;
  /** Vector-rows per workgroup of the sweep kernel; 0 when the part's columns run the per-column kernels. */
  readonly sweepPoints: number;
  /** Workgroups of one sweep dispatch: ceil(R / sweepPoints); 0 without a sweep. */
  readonly sweepTiles: number;
}

/** Columns `[start, end)` of one block that belong to one part: one sweep dispatch, or per-column steps. */
export interface VptqPassRange {
  readonly start: number;
  readonly end: number;
  readonly part: number;
}

/** The layout of a layer's pass on the GPU; pure, so it is tested without a device. */
export interface VptqPassPlan {
  readonly pointsPerWorkgroup: number;
  readonly workgroupSize: number;
  readonly parts: readonly VptqPassPartPlan[];
  /** Part of each column. */
  readonly columnPart: Uint32Array;
  /** `[start, end)` column ranges of the lazy-update blocks. */
  readonly blocks: readonly (readonly [number, number])[];
  /** Per block, its columns split at part boundaries (in column order). */
  readonly blockRanges: readonly (readonly VptqPassRange[])[];
  /** vec4 words of the codebook buffer (main and residual entries of every part). */
  readonly codebookWords: number;
  /** u32 words of the index buffer: main indices, residual indices, then one flag per point tile. */
  readonly indexWords: number;
  readonly flagOffset: number;
  readonly flagCount: number;
  /** vec2u entries of the K-slice partials (at least 1). */
  readonly partialEntries: number;
  /** Bytes between two columns' (or two sweep ranges') `Params` records in a uniform buffer (the offset alignment). */
  readonly recordStride: number;
  /** Workgroup tiles of the proxy error's quadratic form: `[ceil(rows/64), ceil(cols/64)]`. */
  readonly measureTiles: number;
}

/**
 * Plans a layer's GPU pass: the buffer layout (codebooks padded to vec4 words, all parts' indices in one u32
 * buffer), how each part's main search is split over K (enough workgroups per column to fill the device:
 * `targetWorkgroups`, never below one tile of entries per slice), and checks everything against the device.
 *
 * @throws {RangeError} naming the parameter or device limit: parts that do not tile the columns, v above 16, a
 *   tuning value out of range, a grid above `maxComputeWorkgroupsPerDimension`, a buffer above
 *   `maxStorageBufferBindingSize`/`maxBufferSize`, too few storage buffers, too little workgroup memory, or sizes
 *   whose element offsets overflow u32.
 */
export function planVptqPass(
  fn: string,
  layer: { readonly rows: number; readonly cols: number; readonly blockSize: number; readonly parts: readonly VptqPart[] },
  limits: VptqPassLimits,
  tuning: VptqPassTuning,
): VptqPassPlan {
  const { rows, cols, blockSize, parts } = layer;
  const points = tuning.pointsPerWorkgroup;
  checkParts(fn, layer);
  if (limits.maxStorageBuffersPerShaderStage < storageBuffersNeeded) {
    throw new RangeError(
      `${fn}: the column kernel binds ${storageBuffersNeeded} storage buffers, above the device's maxStorageBuffersPerShaderStage of ${limits.maxStorageBuffersPerShaderStage}`,
    );
  }
  if (limits.maxComputeInvocationsPerWorkgroup < workgroupSize || limits.maxComputeWorkgroupSizeX < workgroupSize) {
    throw new RangeError(
      `${fn}: the kernels use workgroups of ${workgroupSize}, above the device's maxComputeInvocationsPerWorkgroup (${limits.maxComputeInvocationsPerWorkgroup}) or maxComputeWorkgroupSizeX (${limits.maxComputeWorkgroupSizeX})`,
    );
  }
  // Element offsets are u32 in the shaders: the outputs hold 2·cols·rows values, the factors cols².
  if (2 * cols * rows > 0xffffffff || cols * cols > 0xffffffff) {
    throw new RangeError(`${fn}: a ${rows} × ${cols} layer has element offsets beyond u32 (2·rows·cols or cols² ≥ 2³²)`);
  }

  let codebookWords = 0;
  let indexWords = 0;
  let partialEntries = 1;
  let flagCount = 0;
  const planned: Omit<VptqPassPartPlan, 'residualIndexOffset'>[] = [];
  for (const part of parts) {
    const vectorWords = Math.ceil(part.vectorLength / 4);
    const tileEntries = Math.floor(tileBytes / (16 * vectorWords));
    const tiles = Math.ceil(part.vectorRows / points);
    let searchSlices = tuning.searchSlices ?? 1;
    if (tuning.searchSlices === undefined && tiles < tuning.targetWorkgroups) {
      searchSlices = Math.min(Math.ceil(tuning.targetWorkgroups / tiles), Math.floor(part.numCentroids / tileEntries));
    }
    searchSlices = Math.max(1, Math.min(searchSlices, part.numCentroids));
    const sliceEntries = Math.ceil(part.numCentroids / searchSlices);
    searchSlices = Math.ceil(part.numCentroids / sliceEntries); // no empty slice
    checkGrid(fn, `point tiles of a part with R = ${part.vectorRows}`, tiles, limits);
    checkGrid(fn, 'searchSlices', searchSlices, limits);
    const sweepPoints = tuning.columnLoop === 'sweep' && part.vectorLength <= maxSweepVectorLength ? pickSweepPoints(part.vectorRows, tuning) : 0;
    const sweepTiles = sweepPoints === 0 ? 0 : Math.ceil(part.vectorRows / sweepPoints);
    checkGrid(fn, `sweep workgroups of a part with R = ${part.vectorRows}`, sweepTiles, limits);
    const storage = tileEntries * vectorWords * 16 + 2 * workgroupSize * 4 + 2 * points * 4 + points * part.vectorLength * 4 + 4;
    if (sweepPoints === 0 && storage > limits.maxComputeWorkgroupStorageSize) {
      throw new RangeError(
        `${fn}: the column kernel needs ${storage} bytes of workgroup memory for v = ${part.vectorLength} and pointsPerWorkgroup = ${points}, above the device's maxComputeWorkgroupStorageSize of ${limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    const codebookOffset = codebookWords;
    codebookWords += part.numCentroids * vectorWords;
    const residualCodebookOffset = codebookWords;
    codebookWords += part.numResidualCentroids * vectorWords;
    planned.push({ vectorWords, tileEntries, tiles, searchSlices, sliceEntries, codebookOffset, residualCodebookOffset, indexOffset: indexWords, sweepPoints, sweepTiles });
    indexWords += part.vectorRows * part.size;
    if (sweepPoints === 0 && searchSlices > 1) partialEntries = Math.max(partialEntries, searchSlices * part.vectorRows);
    flagCount = Math.max(flagCount, sweepPoints === 0 ? tiles : sweepTiles);
  }
  const withResidualIndices = planned.map((part, index) => {
    const residualIndexOffset = indexWords;
    if (parts[index].numResidualCentroids > 0) indexWords += parts[index].vectorRows * parts[index].size;
    return { ...part, residualIndexOffset };
  });
  const flagOffset = indexWords;
  indexWords += flagCount;

  const measureGrid = [Math.ceil(rows / 64), Math.ceil(cols / 64)];
  checkGrid(fn, 'gemm-tn tiles along the rows', measureGrid[0], limits);
  checkGrid(fn, 'gemm-tn tiles along the columns', measureGrid[1], limits);
  const layerBytes = rows * cols * 4;
  const withResidual = parts.some((part) => part.numResidualCentroids > 0);
  for (const [name, bytes] of [
    [withResidual ? 'the outputs (quantized and residual, 2·rows·cols f32)' : 'the outputs (rows·cols f32)', (withResidual ? 2 : 1) * layerBytes],
    ['the working weight (rows·cols f32)', layerBytes],
    ['U·D⁻¹ (cols² f32)', cols * cols * 4],
    ['the codebooks', codebookWords * 16],
    ['the indices', indexWords * 4],
    ['the search partials', partialEntries * 8],
    ['the block errors', Math.min(blockSize, cols) * rows * 4],
  ] as const) {
    checkBuffer(fn, name, bytes, limits);
  }

  const columnPart = new Uint32Array(cols);
  parts.forEach((part, index) => columnPart.fill(index, part.start, part.start + part.size));
  const blocks: [number, number][] = [];
  for (let start = 0; start < cols; start += blockSize) blocks.push([start, Math.min(start + blockSize, cols)]);
  const blockRanges = blocks.map(([start, end]) => {
    const ranges: VptqPassRange[] = [];
    for (let first = start; first < end; ) {
      const part = columnPart[first];
      const last = Math.min(end, parts[part].start + parts[part].size);
      ranges.push({ start: first, end: last, part });
      first = last;
    }
    return ranges;
  });
  const recordStride = Math.ceil(80 / limits.minUniformBufferOffsetAlignment) * limits.minUniformBufferOffsetAlignment;
  return {
    pointsPerWorkgroup: points,
    workgroupSize,
    parts: withResidualIndices,
    columnPart,
    blocks,
    blockRanges,
    codebookWords,
    indexWords,
    flagOffset,
    flagCount,
    partialEntries,
    recordStride,
    measureTiles: measureGrid[0] * measureGrid[1],
  };
}

/**
 * Vector-rows per sweep workgroup: the forced `sweepPoints`, else the fewest (a power of two up to 16) that keep
 * the dispatch at or under `sweepWorkgroups` workgroups. Fewer points per workgroup means more workgroups
 * sharing a column's scan, and each reads the whole codebook once per column.
 */
function pickSweepPoints(vectorRows: number, tuning: VptqPassTuning): number {
  if (tuning.sweepPoints !== undefined) return tuning.sweepPoints;
  let points = 1;
  while (points < maxSweepPoints && Math.ceil(vectorRows / points) > tuning.sweepWorkgroups) points *= 2;
  return points;
}

/** Reads and checks the tuning options of the GPU pass engine. */
export function readVptqPassTuning(
  fn: string,
  options: {
    readonly pointsPerWorkgroup?: number;
    readonly targetWorkgroups?: number;
    readonly searchSlices?: number;
    readonly columnLoop?: VptqColumnLoop;
    readonly sweepPoints?: number;
    readonly sweepWorkgroups?: number;
    readonly useSubgroups?: boolean;
  },
): VptqPassTuning {
  const points = options.pointsPerWorkgroup ?? 16;
  if (!Number.isInteger(points) || points < 1 || points > 64 || (points & (points - 1)) !== 0) {
    throw new RangeError(`${fn}: pointsPerWorkgroup must be a power of two between 1 and 64 (got ${String(points)})`);
  }
  const targetWorkgroups = options.targetWorkgroups ?? 1024;
  if (!Number.isInteger(targetWorkgroups) || targetWorkgroups < 1) {
    throw new RangeError(`${fn}: targetWorkgroups must be an integer ≥ 1 (got ${String(targetWorkgroups)})`);
  }
  const searchSlices = options.searchSlices;
  if (searchSlices !== undefined && (!Number.isInteger(searchSlices) || searchSlices < 1)) {
    throw new RangeError(`${fn}: searchSlices must be an integer ≥ 1 (got ${String(searchSlices)})`);
  }
  const columnLoop = options.columnLoop ?? 'sweep';
  if (columnLoop !== 'sweep' && columnLoop !== 'per-column') {
    throw new RangeError(`${fn}: columnLoop must be 'sweep' or 'per-column' (got ${String(columnLoop)})`);
  }
  const sweepPoints = options.sweepPoints;
  if (sweepPoints !== undefined && (!Number.isInteger(sweepPoints) || sweepPoints < 1 || sweepPoints > maxSweepPoints)) {
    throw new RangeError(`${fn}: sweepPoints must be an integer between 1 and ${maxSweepPoints} (got ${String(sweepPoints)})`);
  }
  const sweepWorkgroups = options.sweepWorkgroups ?? 256;
  if (!Number.isInteger(sweepWorkgroups) || sweepWorkgroups < 1) {
    throw new RangeError(`${fn}: sweepWorkgroups must be an integer ≥ 1 (got ${String(sweepWorkgroups)})`);
  }
  return { pointsPerWorkgroup: points, targetWorkgroups, searchSlices, columnLoop, sweepPoints, sweepWorkgroups, useSubgroups: options.useSubgroups };
}

function checkParts(fn: string, layer: { readonly rows: number; readonly cols: number; readonly parts: readonly VptqPart[] }): void {
  let next = 0;
  layer.parts.forEach((part, index) => {
    const name = `layer.parts[${index}]`;
    if (part.start !== next || !Number.isInteger(part.size) || part.size < 1) {
      throw new RangeError(`${fn}: ${name} must start at column ${next} with a size ≥ 1 (got start ${part.start}, size ${part.size})`);
    }
    if (!Number.isInteger(part.vectorLength) || part.vectorLength < 1 || part.vectorLength > maxGpuVectorLength) {
      throw new RangeError(`${fn}: ${name}.vectorLength must be an integer between 1 and ${maxGpuVectorLength} on the GPU (got ${part.vectorLength})`);
    }
    if (part.vectorRows !== Math.ceil(layer.rows / part.vectorLength)) {
      throw new RangeError(`${fn}: ${name}.vectorRows must be ceil(rows / vectorLength) = ${Math.ceil(layer.rows / part.vectorLength)} (got ${part.vectorRows})`);
    }
    if (!Number.isInteger(part.numCentroids) || part.numCentroids < 1 || !Number.isInteger(part.numResidualCentroids) || part.numResidualCentroids < 0) {
      throw new RangeError(`${fn}: ${name} must have numCentroids ≥ 1 and numResidualCentroids ≥ 0 (got ${part.numCentroids}, ${part.numResidualCentroids})`);
    }
    next += part.size;
  });
  if (next !== layer.cols) throw new RangeError(`${fn}: layer.parts must cover the ${layer.cols} columns (they cover ${next})`);
}

function checkGrid(fn: string, name: string, count: number, limits: VptqPassLimits): void {
  if (count > limits.maxComputeWorkgroupsPerDimension) {
    throw new RangeError(`${fn}: ${count} workgroups for ${name}, above the device's maxComputeWorkgroupsPerDimension of ${limits.maxComputeWorkgroupsPerDimension}`);
  }
}

/** @throws {RangeError} when `bytes` exceed what one binding or buffer of the device may hold, naming the limit. */
export function checkBuffer(fn: string, name: string, bytes: number, limits: VptqPassLimits): void {
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (bytes > limit) {
    const which = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    throw new RangeError(`${fn}: ${name} take ${bytes} bytes, above the device's ${which} of ${limit}`);
  }
}
