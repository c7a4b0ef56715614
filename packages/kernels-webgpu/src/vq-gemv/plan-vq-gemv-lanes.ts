import { checkWorkgroups } from '../dispatch';
import { vqLaneTileRows } from '../vq-layer/lane-index-layout';
import type { VqGemvDeviceLimits, VqGemvLayerPlacement, VqGemvOptions, VqGemvReducePlan, VqGemvShape } from './plan-vq-gemv';
import { maxVqGemvTokens, vqGemvTargetWorkgroups } from './plan-vq-gemv';
import { packStruct } from './vq-gemv-params';
import type { StructField, StructValues } from './vq-gemv-params';

/** The `Params` struct of the lanes VQ-GEMV (`vqGemvLanesWgsl`), in declaration order. */
export const vqGemvLanesParamsFields = [
  ['rowWords', 'u32'],
  ['rows', 'u32'],
  ['rowTiles', 'u32'],
  ['fieldsPerRow', 'u32'],
  ['columnOffset', 'u32'],
  ['columnTiles', 'u32'],
  ['xStride', 'u32'],
  ['yStride', 'u32'],
  ['tokens', 'u32'],
  ['outputs', 'u32'],
  ['inFeatures', 'u32'],
  ['groupCentroidWords', 'u32'],
  ['groupResidualWords', 'u32'],
  ['indexWord', 'u32'],
  ['centroidWord', 'u32'],
  ['residualWord', 'u32'],
  ['permWord', 'u32'],
  ['normWord', 'u32'],
  ['biasWord', 'u32'],
] as const satisfies readonly StructField[];

/** Uniform values of the lanes VQ-GEMV. */
export type VqGemvLanesParams = StructValues<typeof vqGemvLanesParamsFields>;

/** The bytes of a lanes VQ-GEMV `Params` uniform. */
export function packVqGemvLanesParams(values: VqGemvLanesParams): ArrayBuffer {
  return packStruct(vqGemvLanesParamsFields, values);
}

/** The WGSL `override` values of the lanes VQ-GEMV (names as in `vqGemvLanesWgsl`; booleans become 0/1). */
export interface VqGemvLanesConstants {
  readonly workgroupSize: number;
  readonly fieldsPerLane: number;
  readonly vectorLength: number;
  readonly indexBits: number;
  readonly residualBits: number;
  readonly centroidFormat: number;
  readonly residualFormat: number;
  readonly entryWords: number;
  readonly residualEntryWords: number;
  readonly directOutput: boolean;
  readonly hasPerm: boolean;
  readonly hasNorm: boolean;
  readonly hasBias: boolean;
}

/** What `createVqGemvDispatch` records for the lanes kernel, decided without a GPU. */
export interface VqGemvLanesPlan {
  readonly kernel: 'lanes';
  readonly constants: VqGemvLanesConstants;
  readonly params: VqGemvLanesParams;
  /** (row tiles, G · column tiles, tokens). */
  readonly workgroups: readonly [number, number, number];
  /** Workgroup memory the kernel declares. */
  readonly workgroupBytes: number;
  /** The split-K reduction, when more than one workgroup feeds an output (column tiles × groups > 1). */
  readonly reduce: VqGemvReducePlan | undefined;
}

/**
 * Plans the lanes VQ-GEMV of one layer uploaded in the `lanes` index layout: 32 vector-rows per workgroup (one
 * per lane), `fieldsPerLane` columns per lane (a multiple of 8; by default enough column tiles for about
 * `targetWorkgroups` workgroups, at least 32 fields a lane so that staging x and the slice sums stay a small share),
 * the grid, the uniforms and the split-K reduction. It covers the main groups of one layer with any G, residual,
 * perm, norm, bias, codebook format and field width up to 32 bits; outliers, stacks of layers, SwiGLU inputs and
 * RMSNorm in the kernel are not covered (it throws naming which). Pure.
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
  if (layers.length !== 1) throw new RangeError(`${fn}: the lanes kernel takes one layer (got ${layers.length}); run each layer on its own`);
  if (layout.hasOutliers) throw new RangeError(`${fn}: the lanes kernel has no outlier part (the layer has ${layout.outlierSize} outlier columns)`);
  if (shape.swigluUpOffset !== undefined) throw new RangeError(`${fn}: the lanes kernel does not read SwiGLU inputs (shape.swigluUpOffset)`);
  if (shape.normalizeInput !== undefined) throw new RangeError(`${fn}: the lanes kernel does not normalize its input (shape.normalizeInput)`);
  const tokens = shape.tokens;
  if (!Number.isInteger(tokens) || tokens < 1 || tokens > maxVqGemvTokens) throw new RangeError(`${fn}: shape.tokens must be an integer between 1 and ${maxVqGemvTokens} (got ${tokens})`);
  const { inFeatures, outFeatures, vectorRows, groupNum: groups, groupSize } = layout;
  const xStride = shape.xStride ?? inFeatures;
  const yStride = shape.yStride ?? outFeatures;
  const limit = device.limits.maxComputeInvocationsPerWorkgroup;
  const workgroupSize = options.workgroupSize ?? 256;
  if (!Number.isInteger(workgroupSize) || workgroupSize < vqLaneTileRows || workgroupSize > limit || (workgroupSize & (workgroupSize - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize of the lanes kernel must be a power of two between ${vqLaneTileRows} and ${limit} (got ${workgroupSize})`);
  }
  const slices = workgroupSize / vqLaneTileRows;
  const rowTiles = Math.ceil(vectorRows / vqLaneTileRows);
  const fieldsPerLane = options.fieldsPerLane ?? defaultFieldsPerLane(rowTiles * groups, groupSize, slices, options.targetWorkgroups ?? vqGemvTargetWorkgroups);
  if (!Number.isInteger(fieldsPerLane) || fieldsPerLane < 8 || fieldsPerLane % 8 !== 0) {
    throw new RangeError(`${fn}: options.fieldsPerLane must be a positive multiple of 8 (got ${fieldsPerLane})`);
  }
  const columns = slices * fieldsPerLane;
  const columnTiles = Math.ceil(groupSize / columns);
  const quads = Math.ceil(layout.vectorLength / 4);
  const hasNorm = layer.words.norm !== undefined;
  const workgroupBytes = columns * 4 + workgroupSize * quads * 16 + (hasNorm ? workgroupSize : 1) * 4;
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
  const reduce =
    slots === 1
      ? undefined
      : {
          constants: { workgroupSize: 256 },
          params: { outputs: outFeatures, tokens, slots, yStride },
          workgroups: checkWorkgroups(fn, device, Math.ceil(outFeatures / 256), tokens),
          partialsByteLength: slots * tokens * outFeatures * 4,
        };
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
    },
    params: {
      rowWords: layout.rowWords,
      rows: vectorRows,
      rowTiles,
      fieldsPerRow: groupSize,
      columnOffset: layout.outlierSize,
      columnTiles,
      xStride,
      yStride,
      tokens,
      outputs: outFeatures,
      inFeatures,
      groupCentroidWords: layout.numCentroids * entryWords,
      groupResidualWords: residual ? layout.numResidualCentroids * residualEntryWords : 0,
      indexWord: layer.words.indices,
      centroidWord: layer.words.centroids,
      residualWord: layer.words.residualCentroids ?? 0,
      permWord: layer.words.perm ?? 0,
      normWord: layer.words.norm ?? 0,
      biasWord: layer.words.bias ?? 0,
    },
    workgroups: checkWorkgroups(fn, device, rowTiles, slots, tokens),
    workgroupBytes,
    reduce,
  };
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
