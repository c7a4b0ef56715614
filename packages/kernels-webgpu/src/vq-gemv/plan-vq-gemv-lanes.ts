import { checkWorkgroups } from '../dispatch';
import { vqLaneTileRows } from '../vq-layer/lane-index-layout';
import type { VqGemvConstants, VqGemvDeviceLimits, VqGemvLayerPlacement, VqGemvOptions, VqGemvReducePlan, VqGemvShape } from './plan-vq-gemv';
import { maxVqGemvTokens, planVqGemvReduce, vqGemvTargetWorkgroups } from './plan-vq-gemv';
import { packStruct, vqGemvTableWords } from './vq-gemv-params';
import type { StructField, StructValues } from './vq-gemv-params';
import { maxVqGemvProjections } from './vq-gemv.wgsl';

/** The `Params` struct of the lanes VQ-GEMV (`vqGemvLanesWgsl`), in declaration order. */
export const vqGemvLanesParamsFields = [
  ['rowWords', 'u32'],
  ['fieldsPerRow', 'u32'],
  ['columnOffset', 'u32'],
  ['columnTiles', 'u32'],
  ['xStride', 'u32'],
  ['yStride', 'u32'],
  ['tokens', 'u32'],
  ['partialStride', 'u32'],
  ['inFeatures', 'u32'],
  ['groupCentroidWords', 'u32'],
  ['groupResidualWords', 'u32'],
  ['projections', 'u32'],
  ['upOffset', 'u32'],
  ['epsilon', 'f32'],
  ['table', `array<vec4u, ${vqGemvTableWords / 4}>`],
] as const satisfies readonly StructField[];

/** Uniform values of the lanes VQ-GEMV. */
export type VqGemvLanesParams = StructValues<typeof vqGemvLanesParamsFields>;

/** The bytes of a lanes VQ-GEMV `Params` uniform. */
export function packVqGemvLanesParams(values: VqGemvLanesParams): ArrayBuffer {
  return packStruct(vqGemvLanesParamsFields, values);
}

/**
 * The WGSL `override` values of the lanes VQ-GEMV (names as in `vqGemvLanesWgsl`; booleans become 0/1): the codebook,
 * field and input features as in the streaming kernel's, and the columns each lane takes.
 */
export interface VqGemvLanesConstants
  extends Pick<
    VqGemvConstants,
    | 'workgroupSize'
    | 'vectorLength'
    | 'indexBits'
    | 'residualBits'
    | 'centroidFormat'
    | 'residualFormat'
    | 'entryWords'
    | 'residualEntryWords'
    | 'directOutput'
    | 'hasPerm'
    | 'hasNorm'
    | 'hasBias'
    | 'swigluInput'
    | 'normalizeInput'
  > {
  readonly fieldsPerLane: number;
}

/** What `createVqGemvDispatch` records for the lanes kernel, decided without a GPU. */
export interface VqGemvLanesPlan {
  readonly kernel: 'lanes';
  readonly constants: VqGemvLanesConstants;
  readonly params: VqGemvLanesParams;
  /** (Σ row tiles of the layers, G · column tiles, tokens). */
  readonly workgroups: readonly [number, number, number];
  /** Workgroup memory the kernel declares. */
  readonly workgroupBytes: number;
  /** The split-K reduction, when more than one workgroup feeds an output (column tiles × groups > 1). */
  readonly reduce: VqGemvReducePlan | undefined;
}

/**
 * Plans the lanes VQ-GEMV of one layer, or of a stack of up to 4 that share their buffers and layout (checked by
 * the caller, see `vqStackMismatch`), uploaded in the `lanes` index layout: 32 vector-rows per workgroup (one per
 * lane), `fieldsPerLane` columns per lane (a multiple of 8; by default enough column tiles for about
 * `targetWorkgroups` workgroups, at least 32 fields a lane so that staging x and the slice sums stay a small share),
 * the layer table, the grid, the uniforms and the split-K reduction. It covers the main groups with any G, residual,
 * perm, norm, bias, codebook format and field width up to 32 bits, SwiGLU inputs and RMSNorm of the input; it
 * throws for outliers. Pure.
 *
 * @throws {RangeError} naming the option, shape or layer feature that does not fit.
 */
export function planVqGemvLanes(
  layers: readonly VqGemvLayerPlacement[],
  shape: VqGemvShape,
  options: VqGemvOptions,
  device: VqGemvDeviceLimits,
): VqGemvLanesPlan {
  const fn = 'createVqGemvDispatch';
  const layer = layers[0];
  const { layout } = layer;
  if (layers.length < 1 || layers.length > maxVqGemvProjections) throw new RangeError(`${fn}: the lanes kernel takes 1 to ${maxVqGemvProjections} layers (got ${layers.length})`);
  if (layout.hasOutliers) throw new RangeError(`${fn}: the lanes kernel has no outlier part (the layer has ${layout.outlierSize} outlier columns)`);
  const tokens = shape.tokens;
  if (!Number.isInteger(tokens) || tokens < 1 || tokens > maxVqGemvTokens) throw new RangeError(`${fn}: shape.tokens must be an integer between 1 and ${maxVqGemvTokens} (got ${tokens})`);
  const { inFeatures, groupNum: groups, groupSize } = layout;
  const outFeatures = layers.reduce((sum, each) => sum + each.layout.outFeatures, 0);
  const upOffset = shape.swigluUpOffset;
  if (upOffset !== undefined && (!Number.isInteger(upOffset) || upOffset < inFeatures)) throw new RangeError(`${fn}: shape.swigluUpOffset must be an integer ≥ ${inFeatures} (got ${upOffset})`);
  const normalize = shape.normalizeInput;
  if (normalize !== undefined) {
    if (!(normalize.epsilon >= 0 && Number.isFinite(normalize.epsilon))) throw new RangeError(`${fn}: shape.normalizeInput.epsilon must be a finite number ≥ 0 (got ${normalize.epsilon})`);
    if (upOffset !== undefined) throw new RangeError(`${fn}: shape.normalizeInput and shape.swigluUpOffset exclude each other`);
  }
  const xWidth = (upOffset ?? 0) + inFeatures;
  const xStride = shape.xStride ?? xWidth;
  const yStride = shape.yStride ?? outFeatures;
  if (!Number.isInteger(xStride) || xStride < xWidth) throw new RangeError(`${fn}: shape.xStride must be an integer ≥ ${xWidth} (got ${xStride})`);
  if (!Number.isInteger(yStride) || yStride < outFeatures) throw new RangeError(`${fn}: shape.yStride must be an integer ≥ ${outFeatures} (got ${yStride})`);
  const limit = device.limits.maxComputeInvocationsPerWorkgroup;
  const workgroupSize = options.workgroupSize ?? 256;
  if (!Number.isInteger(workgroupSize) || workgroupSize < vqLaneTileRows || workgroupSize > limit || (workgroupSize & (workgroupSize - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize of the lanes kernel must be a power of two between ${vqLaneTileRows} and ${limit} (got ${workgroupSize})`);
  }
  const slices = workgroupSize / vqLaneTileRows;
  const tilesOf = (each: VqGemvLayerPlacement) => Math.ceil(each.layout.vectorRows / vqLaneTileRows);
  const rowTiles = layers.reduce((sum, each) => sum + tilesOf(each), 0);
  const fieldsPerLane = options.fieldsPerLane ?? defaultFieldsPerLane(rowTiles * groups, groupSize, slices, options.targetWorkgroups ?? vqGemvTargetWorkgroups);
  if (!Number.isInteger(fieldsPerLane) || fieldsPerLane < 8 || fieldsPerLane % 8 !== 0) {
    throw new RangeError(`${fn}: options.fieldsPerLane must be a positive multiple of 8 (got ${fieldsPerLane})`);
  }
  const columns = slices * fieldsPerLane;
  const columnTiles = Math.ceil(groupSize / columns);
  const quads = Math.ceil(layout.vectorLength / 4);
  const hasNorm = layer.words.norm !== undefined;
  const workgroupBytes = columns * 4 + workgroupSize * quads * 16 + (hasNorm || normalize ? workgroupSize : 1) * 8;
  if (workgroupBytes > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `${fn}: the lanes kernel needs ${workgroupBytes} bytes of workgroup memory, above maxComputeWorkgroupStorageSize (${device.limits.maxComputeWorkgroupStorageSize}); lower options.fieldsPerLane or options.workgroupSize`,
    );
  }
  const slots = groups * columnTiles;
  const elementWords = (format: number) => (format === 0 ? 1 : 0.5);
  const entryWords = layer.centroidStride * elementWords(layer.centroidFormat);
  const residual = layout.residualBits > 0;
  const residualEntryWords = residual ? layer.residualStride * elementWords(layer.residualFormat) : entryWords;
  const reduce = planVqGemvReduce(fn, device, { outputs: outFeatures, tokens, slots, yStride });
  return {
    kernel: 'lanes',
    constants: {
      workgroupSize,
      fieldsPerLane,
      vectorLength: layout.vectorLength,
      indexBits: layout.indexBits,
      residualBits: layout.residualBits,
      centroidFormat: layer.centroidFormat,
      residualFormat: residual ? layer.residualFormat : layer.centroidFormat,
      entryWords,
      residualEntryWords,
      directOutput: slots === 1,
      hasPerm: layer.words.perm !== undefined,
      hasNorm,
      hasBias: layer.words.bias !== undefined,
      swigluInput: upOffset !== undefined,
      normalizeInput: normalize !== undefined,
    },
    params: {
      rowWords: layout.rowWords,
      fieldsPerRow: groupSize,
      columnOffset: layout.outlierSize,
      columnTiles,
      xStride,
      yStride,
      tokens,
      partialStride: outFeatures,
      inFeatures,
      groupCentroidWords: layout.numCentroids * entryWords,
      groupResidualWords: residual ? layout.numResidualCentroids * residualEntryWords : 0,
      projections: layers.length,
      upOffset: upOffset ?? 0,
      epsilon: normalize?.epsilon ?? 0,
      table: lanesLayerTable(layers, tilesOf),
    },
    workgroups: checkWorkgroups(fn, device, rowTiles, slots, tokens),
    workgroupBytes,
    reduce,
  };
}

/**
 * Three vec4u per layer: (first row tile, index word, centroid word, residual word), (perm word, norm word, first
 * output, outputs), (bias word, vector-rows, row tiles, 0).
 */
function lanesLayerTable(layers: readonly VqGemvLayerPlacement[], tilesOf: (layer: VqGemvLayerPlacement) => number): Uint32Array {
  const table = new Uint32Array(vqGemvTableWords);
  let firstTile = 0;
  let firstOutput = 0;
  for (const [index, each] of layers.entries()) {
    const { layout, words } = each;
    const tiles = tilesOf(each);
    table.set(
      [firstTile, words.indices, words.centroids, words.residualCentroids ?? 0, words.perm ?? 0, words.norm ?? 0, firstOutput, layout.outFeatures, words.bias ?? 0, layout.vectorRows, tiles, 0],
      12 * index,
    );
    firstTile += tiles;
    firstOutput += layout.outFeatures;
  }
  return table;
}

/**
 * Fields per lane for about `target` workgroups over `tiles` (row tiles × groups) of `fieldsPerRow` columns, in
 * steps of 8, at least 32 (four steps: fewer make staging x and adding the slices a large share of a lane's
 * work and multiply the partials) and at most the whole row.
 */
function defaultFieldsPerLane(tiles: number, fieldsPerRow: number, slices: number, target: number): number {
  const columnTiles = Math.max(1, Math.round(target / tiles));
  const wanted = Math.ceil(fieldsPerRow / columnTiles / slices / 8) * 8;
  const whole = Math.ceil(fieldsPerRow / slices / 8) * 8;
  return Math.max(8, Math.min(whole, Math.max(32, wanted)));
}
