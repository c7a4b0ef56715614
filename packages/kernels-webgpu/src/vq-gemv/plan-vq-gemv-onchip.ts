import { checkWorkgroups } from '../dispatch';
import type { VqGemvConstants, VqGemvDeviceLimits, VqGemvLayerPlacement, VqGemvOptions, VqGemvReducePlan, VqGemvShape } from './plan-vq-gemv';
import { planVqGemvChunks, planVqGemvReduce } from './plan-vq-gemv';
import { vqGemvOnChipTableWords } from './vq-gemv-onchip-params';
import type { VqGemvOnChipParams, VqGemvPrepareXParams } from './vq-gemv-onchip-params';
import { maxVqGemvProjections } from './vq-gemv.wgsl';

/**
 * The WGSL `override` values of the on-chip main pass (names as in `vqGemvOnChipBlocksWgsl`): the codebook and
 * field layout as in the streaming kernel's, then the workgroup tables'.
 */
export interface VqGemvOnChipConstants
  extends Pick<VqGemvConstants, 'workgroupSize' | 'vectorLength' | 'indexBits' | 'residualBits' | 'centroidFormat' | 'residualFormat' | 'entryWords' | 'residualEntryWords'> {
  readonly entries: number;
  readonly residualEntries: number;
  readonly replicas: number;
  readonly residualReplicas: number;
  readonly projections: number;
  /** Elements of the workgroup table (vec4u for `blocks`, u32 for `words`). */
  readonly tableSize: number;
  readonly residualOffset: number;
  readonly chunkFields: number;
  readonly chunkWords: number;
  readonly unroll: number;
  readonly directOutput: boolean;
  readonly hasNorm: boolean;
  readonly hasBias: boolean;
  readonly normalizeInput: boolean;
  /** `blocks` layout only: 16-byte blocks per entry copy. */
  readonly entryBlocks?: number;
  readonly residualEntryBlocks?: number;
  /** `words` layout only: words per entry copy. */
  readonly sharedWords?: number;
  readonly residualSharedWords?: number;
}

/** The prepare pass (x through perm, SwiGLU combined, scaled by the norm; partials of the shift term and Σx²). */
export interface VqGemvPrepareXPlan {
  readonly constants: {
    readonly workgroupSize: number;
    readonly hasPerm: boolean;
    readonly hasNorm: boolean;
    readonly swigluInput: boolean;
    readonly normalizeInput: boolean;
  };
  readonly params: VqGemvPrepareXParams;
  readonly workgroups: readonly [number, number, number];
  /** `[projections, tokens, in]` f32. */
  readonly xqByteLength: number;
  /** `[projections, tokens, 2, blocks]` f32: shift-term partials, then Σx² partials. */
  readonly betaByteLength: number;
}

/** What `createVqGemvDispatch` records for the on-chip kernel, decided without a GPU. */
export interface VqGemvOnChipPlan {
  readonly kernel: 'onchip';
  /** `blocks` (`vqGemvOnChipBlocksWgsl`) or `words` (`vqGemvOnChipWordsWgsl`). */
  readonly layout: 'blocks' | 'words';
  /** Workgroup memory the staged tables take. */
  readonly tableBytes: number;
  readonly constants: VqGemvOnChipConstants;
  readonly params: VqGemvOnChipParams;
  /** (persistent workgroups, 1, 1). */
  readonly workgroups: readonly [number, number, number];
  /** Present when the layers have perm or norm, or x needs SwiGLU or RMSNorm. */
  readonly prepare: VqGemvPrepareXPlan | undefined;
  /** Present when a row is cut into several column splits. */
  readonly reduce: VqGemvReducePlan | undefined;
}

/** Why the on-chip kernel does not apply (the planner then falls back to the streaming kernel). */
export interface VqGemvOnChipRefusal {
  readonly kernel: 'streaming';
  readonly reason: string;
}

const elementBytes = (format: number) => (format === 0 ? 4 : 2);

/**
 * Plans the on-chip VQ-GEMV: the table layout and replicas that fit `maxComputeWorkgroupStorageSize`, the
 * column splits (about `persistentWorkgroups` × workgroupSize / 32 subgroup work items), the persistent grid, the
 * prepare pass (perm, norm, SwiGLU inputs, RMSNorm's Σx²) and the split-K reduction. It covers the main part of
 * layers with one group, no outliers, word-aligned field chunks and codebooks of every layer of the stack that fit workgroup memory
 * together, on devices with subgroups; for anything else it returns a refusal that names the reason. Pure.
 */
export function planVqGemvOnChip(
  layers: readonly VqGemvLayerPlacement[],
  shape: VqGemvShape,
  options: VqGemvOptions,
  device: VqGemvDeviceLimits,
): VqGemvOnChipPlan | VqGemvOnChipRefusal {
  const fn = 'createVqGemvDispatch';
  const refuse = (reason: string): VqGemvOnChipRefusal => ({ kernel: 'streaming', reason });
  const layer = layers[0];
  const { layout } = layer;
  if (!(options.useSubgroups ?? device.subgroups) || !device.subgroups) return refuse('the on-chip kernel needs the subgroups feature');
  if (layout.hasOutliers) return refuse('the on-chip kernel has no outlier part');
  if (layout.groupNum !== 1) return refuse(`the on-chip kernel takes one group (got G ${layout.groupNum})`);
  if (layers.length > maxVqGemvProjections) return refuse(`at most ${maxVqGemvProjections} layers`);
  const chunks = planVqGemvChunks(layout.indexBits + layout.residualBits);
  if (!chunks.aligned) return refuse(`${layout.indexBits + layout.residualBits}-bit fields do not form word-aligned chunks`);
  const unroll = options.unroll ?? chunks.unroll;
  if (!Number.isInteger(unroll) || unroll < 1 || unroll * chunks.chunkWords > 8) {
    throw new RangeError(`${fn}: options.unroll must be an integer with unroll × ${chunks.chunkWords} index words ≤ 8 (got ${unroll})`);
  }
  const workgroupSize = options.workgroupSize ?? 256;
  const persistent = options.persistentWorkgroups ?? 528;
  if (!Number.isInteger(persistent) || persistent < 1) throw new RangeError(`${fn}: options.persistentWorkgroups must be a positive integer (got ${persistent})`);
  const maxReplicas = options.maxReplicas ?? 32;
  if (!Number.isInteger(maxReplicas) || maxReplicas < 1) throw new RangeError(`${fn}: options.maxReplicas must be a positive integer (got ${maxReplicas})`);

  const projections = layers.length;
  const residual = layout.residualBits > 0;
  const entries = layout.numCentroids;
  const residualEntries = residual ? layout.numResidualCentroids : 0;
  const wordsOf = (format: number, stride: number) => stride * (format === 0 ? 1 : 0.5);
  const entryWords = wordsOf(layer.centroidFormat, layer.centroidStride);
  const residualEntryWords = residual ? wordsOf(layer.residualFormat, layer.residualStride) : 1;
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  // Elements per entry copy and bytes per element in each layout.
  const blocks = { main: Math.ceil(entryWords / 4), residual: Math.ceil(residualEntryWords / 4), bytes: 16 };
  const words = {
    main: Math.ceil((layout.vectorLength * elementBytes(layer.centroidFormat)) / 4),
    residual: residual ? Math.ceil((layout.vectorLength * elementBytes(layer.residualFormat)) / 4) : 1,
    bytes: 4,
  };
  const bytesOf = (kind: typeof blocks, replicas: number, residualReplicas: number) =>
    projections * (entries * replicas * kind.main + residualEntries * residualReplicas * kind.residual) * kind.bytes;
  let tableLayout: 'blocks' | 'words';
  if (bytesOf(blocks, 1, 1) <= limit) tableLayout = 'blocks';
  else if (words.main <= 4 && words.residual <= 4 && bytesOf(words, 1, 1) <= limit) tableLayout = 'words';
  else return refuse(`the codebooks need ${bytesOf(words, 1, 1)} bytes of workgroup memory, above maxComputeWorkgroupStorageSize (${limit})`);
  const kind = tableLayout === 'blocks' ? blocks : words;
  // Conflict-free: one wavefront (128 bytes) of distinct copies; double the table with fewer copies first.
  const conflictFree = (size: number) => Math.max(1, 2 ** Math.floor(Math.log2(128 / (size * kind.bytes))));
  const mainCap = Math.min(maxReplicas, conflictFree(kind.main));
  const residualCap = residual ? Math.min(maxReplicas, conflictFree(kind.residual)) : 1;
  let replicas = 1;
  let residualReplicas = 1;
  for (;;) {
    const growMain = replicas < mainCap && bytesOf(kind, replicas * 2, residualReplicas) <= limit;
    const growResidual = residualReplicas < residualCap && bytesOf(kind, replicas, residualReplicas * 2) <= limit;
    if (growMain && (!growResidual || replicas <= residualReplicas)) replicas *= 2;
    else if (growResidual) residualReplicas *= 2;
    else break;
  }
  const residualOffset = projections * entries * replicas * kind.main;
  const tableSize = residualOffset + projections * residualEntries * residualReplicas * kind.residual;

  const tokens = shape.tokens;
  const inFeatures = layout.inFeatures;
  const outFeatures = layers.reduce((sum, each) => sum + each.layout.outFeatures, 0);
  const rows = layers.reduce((sum, each) => sum + each.layout.vectorRows, 0);
  const fieldsPerRow = layout.groupSize;
  const perIteration = 32 * chunks.chunkFields * unroll;
  const mostSplits = Math.max(1, Math.floor(fieldsPerRow / perIteration));
  const subgroupsPerWorkgroup = Math.max(1, workgroupSize / 32);
  const wanted = options.splits ?? Math.min(mostSplits, Math.max(1, Math.round((persistent * subgroupsPerWorkgroup) / (rows * tokens))));
  const fieldsPerSplit = Math.ceil(fieldsPerRow / Math.max(1, Math.min(wanted, fieldsPerRow)) / chunks.chunkFields) * chunks.chunkFields;
  const splits = Math.ceil(fieldsPerRow / fieldsPerSplit);
  const items = rows * splits * tokens;
  const workgroups = checkWorkgroups(fn, device, Math.min(persistent, Math.ceil(items / subgroupsPerWorkgroup)));

  const hasPerm = layer.words.perm !== undefined;
  const hasNorm = layer.words.norm !== undefined;
  const upOffset = shape.swigluUpOffset;
  const normalize = shape.normalizeInput;
  const xStride = shape.xStride ?? (upOffset ?? 0) + inFeatures;
  const prepareWorkgroupSize = 256;
  const betaBlocks = Math.ceil(inFeatures / prepareWorkgroupSize);
  let prepare: VqGemvPrepareXPlan | undefined;
  if (hasPerm || hasNorm || upOffset !== undefined || normalize !== undefined) {
    const table = new Uint32Array(4 * maxVqGemvProjections);
    for (const [index, each] of layers.entries()) table.set([each.words.perm ?? 0, each.words.norm ?? 0], 4 * index);
    prepare = {
      constants: { workgroupSize: prepareWorkgroupSize, hasPerm, hasNorm, swigluInput: upOffset !== undefined, normalizeInput: normalize !== undefined },
      params: { inFeatures, tokens, xStride, blocks: betaBlocks, upOffset: upOffset ?? 0, table },
      workgroups: checkWorkgroups(fn, device, betaBlocks, tokens, projections),
      xqByteLength: projections * tokens * inFeatures * 4,
      betaByteLength: projections * tokens * 2 * betaBlocks * 4,
    };
  }
  const table = new Uint32Array(vqGemvOnChipTableWords);
  let firstRow = 0;
  let firstOutput = 0;
  for (const [index, each] of layers.entries()) {
    table.set(
      [firstRow, each.words.indices, each.words.centroids, each.words.residualCentroids ?? 0, firstOutput, each.layout.outFeatures, each.words.bias ?? 0, 0],
      8 * index,
    );
    firstRow += each.layout.vectorRows;
    firstOutput += each.layout.outFeatures;
  }
  const yStride = shape.yStride ?? outFeatures;
  return {
    kernel: 'onchip',
    layout: tableLayout,
    tableBytes: tableSize * kind.bytes,
    constants: {
      workgroupSize,
      vectorLength: layout.vectorLength,
      indexBits: layout.indexBits,
      residualBits: layout.residualBits,
      centroidFormat: layer.centroidFormat,
      residualFormat: residual ? layer.residualFormat : layer.centroidFormat,
      entryWords,
      residualEntryWords,
      entries,
      residualEntries,
      replicas,
      residualReplicas,
      projections,
      tableSize,
      residualOffset,
      chunkFields: chunks.chunkFields,
      chunkWords: chunks.chunkWords,
      unroll,
      directOutput: splits === 1,
      hasNorm,
      hasBias: layer.words.bias !== undefined,
      normalizeInput: normalize !== undefined,
      ...(tableLayout === 'blocks'
        ? { entryBlocks: blocks.main, residualEntryBlocks: blocks.residual }
        : { sharedWords: words.main, residualSharedWords: words.residual }),
    },
    params: {
      rowWords: layout.rowWords,
      fieldsPerRow,
      fieldsPerSplit,
      splits,
      tokens,
      rows,
      items,
      xStride: prepare ? inFeatures : xStride,
      xLayerStride: prepare ? tokens * inFeatures : 0,
      yStride,
      partialStride: outFeatures,
      betaBlocks: prepare ? betaBlocks : 0,
      inFeatures,
      epsilon: normalize?.epsilon ?? 0,
      table,
    },
    workgroups,
    prepare,
    reduce: planVqGemvReduce(fn, device, { outputs: outFeatures, tokens, slots: splits, yStride }),
  };
}
