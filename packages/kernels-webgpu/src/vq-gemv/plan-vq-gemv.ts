import type { VptqLayerLayout } from '@vptq/pack-format';

import { checkWorkgroups } from '../dispatch';
import { assertCount } from '../validate';
import { vqGemvTableWords } from './vq-gemv-params';
import type { VqGemvParams, VqGemvReduceParams } from './vq-gemv-params';

/** The most tokens one fused VQ-GEMV handles; use dequantization + GEMM for more (prefill). */
export const maxVqGemvTokens = 8;

/** The longest vectors (v and vo) the fused VQ-GEMV handles: each invocation keeps v sums in 4 vec4. */
export const maxVqGemvVectorLength = 16;

/** Shape of `createVqGemvDispatch`. */
export interface VqGemvShape {
  /** 1 ≤ tokens ≤ 8. */
  readonly tokens: number;
  /** Elements between tokens in x. Default inFeatures. */
  readonly xStride?: number;
  /** Elements between tokens in y. Default outFeatures. */
  readonly yStride?: number;
  /**
   * When set, x holds the inputs of the MLP's SwiGLU instead of the layer input: gate at `x[t, c]` and up at
   * `x[t, swigluUpOffset + c]`, and the kernel reads `silu(gate) · up` (the SwiGLU dispatch of a decoded token
   * folded into the down projection). xStride then defaults to `swigluUpOffset + inFeatures`.
   */
  readonly swigluUpOffset?: number;
  /**
   * When set, x is the residual stream before an RMSNorm whose gain was folded into the layer's per-column
   * scale and shift (`W · diag(g)`), and the kernel applies `x / √(mean(x²) + epsilon)` itself (Σx² is summed
   * in the same loop): a decoded token needs no RMSNorm dispatch. Needs one workgroup per output (G = 1, no
   * outliers; the column split is then 1).
   */
  readonly normalizeInput?: { readonly epsilon: number };
}

/** Tuning options of the fused VQ-GEMV; the defaults suit large layers on discrete GPUs. */
export interface VqGemvOptions {
  /** Invocations per workgroup of the main pass, a power of two. Default 128. */
  readonly workgroupSize?: number;
  /**
   * Column splits per (vector-row, group): more splits give more workgroups (and a reduce pass).
   * Default: enough for about `targetWorkgroups` workgroups, as long as every invocation keeps at least two
   * iterations (2 · chunkFields · unroll fields) of its split.
   */
  readonly splits?: number;
  /**
   * Workgroups the automatic split aims at. Default 1024 ({@link vqGemvTargetWorkgroups}), measured on an H100
   * (2026-12-07, v8-k256-r256): 4 splits of 256 two-row tiles at 4096×11008 took 31.3 µs against 35.6 at 2048
   * workgroups and 40.5 for the old one-split plan; one split of 688 tiles at 11008×4096 took 29.3 against 33.9
   * at 3 splits. The previous 512 kept every LLaMA-7B layer at one split (342–512 workgroups at 4096 outputs).
   */
  readonly targetWorkgroups?: number;
  /** Reduce with subgroup operations. Default: whether the device has the `subgroups` feature. */
  readonly useSubgroups?: boolean;
  /**
   * Word-aligned chunks each invocation reads per iteration. Default: enough for about 8 fields over the
   * workgroup's rows (4 chunks of 16-bit fields for one row, 2 for two rows).
   */
  readonly unroll?: number;
  /**
   * Vector-rows each workgroup of the main variant takes, 1 or 2: two rows share every read of x, perm and
   * norm (four loads per field, one of them the random gather x[perm[p]]) and double the gathers in flight.
   * Default 2 where one iteration holds a single chunk (fields of 12, 20 or 28 bits, 8 to a chunk: v6-k4096
   * decoded 14% faster on an H100) or where the main codebook has at most 4096 entries (its gathers hit the
   * L1, so the per-row x/perm/norm reads weigh as much as the lookups: v8-k256-r256, v8-k256), else 1
   * (v8-k65536, whose 1 MiB codebook is gathered from L2, was not faster with two).
   */
  readonly rowsPerWorkgroup?: 1 | 2;
  /**
   * Which main-pass kernel runs: `onchip` (codebooks staged once per persistent workgroup in workgroup memory,
   * see `planVqGemvOnChip`; throws when the layers do not qualify), `streaming` (codebooks gathered through the
   * caches, every format; the default), or `auto`: `onchip` wherever it applies, else `streaming`. The default is
   * `streaming` because it measured faster in decode (H200, 2026-12-07: v8-k256-r256 115 against 87 tokens/s,
   * v6-k4096 101 against 84; BENCHMARKS.md); the on-chip kernel stays for GPUs and shapes where it wins.
   * `lanes` (each lane owns a vector-row, x staged once per workgroup; see `vqGemvLanesWgsl`) is the only kernel
   * that reads layers uploaded with `indexLayout: 'lanes'`, and `auto` picks it for them.
   */
  readonly kernel?: 'auto' | 'onchip' | 'streaming' | 'lanes';
  /**
   * Lanes kernel (`kernel: 'lanes'`, layers uploaded with `indexLayout: 'lanes'`): columns each lane (one
   * vector-row) takes per workgroup, a multiple of 8. Default: about `targetWorkgroups` workgroups, at least 32.
   */
  readonly fieldsPerLane?: number;
  /** On-chip kernel: persistent workgroups (a few per SM; an H100 has 132). Default 528. */
  readonly persistentWorkgroups?: number;
  /**
   * On-chip kernel: the most copies of each codebook entry in workgroup memory (lane l reads copy l mod n, so
   * lanes spread over banks). Default: as many as fit, up to the conflict-free count (8 for 16-byte entries).
   */
  readonly maxReplicas?: number;
}

/** What {@link planVqGemv} needs of one layer: its layout, codebook formats and strides, and where its tensors sit. */
export interface VqGemvLayerPlacement {
  readonly layout: VptqLayerLayout;
  /** 0 = f32, 1 = f16, 2 = bf16, as `GpuVqLayer`. */
  readonly centroidFormat: number;
  /** Elements between codebook entries (padded, see `codebookEntryStride`). */
  readonly centroidStride: number;
  readonly residualFormat: number;
  readonly residualStride: number;
  readonly outlierFormat: number;
  readonly outlierStride: number;
  /** Words per repacked outlier row. */
  readonly outlierRowWords: number;
  /** Word offset of each tensor in its (possibly shared) buffer; undefined where the layer has none. */
  readonly words: {
    readonly indices: number;
    readonly centroids: number;
    readonly residualCentroids?: number;
    readonly outlierIndices?: number;
    readonly outlierCentroids?: number;
    readonly perm?: number;
    readonly norm?: number;
    readonly bias?: number;
  };
}

/** The device properties {@link planVqGemv} checks against, as plain values. */
export interface VqGemvDeviceLimits {
  readonly limits: {
    readonly maxComputeInvocationsPerWorkgroup: number;
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeWorkgroupsPerDimension: number;
  };
  /** Whether the device has the `subgroups` feature. */
  readonly subgroups: boolean;
}

/** The WGSL `override` values of one main pass (names as in `vqGemvWgsl`; booleans become 0/1). */
export interface VqGemvConstants {
  readonly workgroupSize: number;
  readonly vectorLength: number;
  readonly indexBits: number;
  readonly residualBits: number;
  readonly centroidFormat: number;
  readonly residualFormat: number;
  readonly entryWords: number;
  readonly residualEntryWords: number;
  readonly alignedChunks: boolean;
  readonly chunkFields: number;
  readonly chunkWords: number;
  readonly unroll: number;
  readonly directOutput: boolean;
  readonly hasPerm: boolean;
  readonly hasNorm: boolean;
  readonly hasBias: boolean;
  readonly rowsPerWorkgroup: number;
  readonly swigluInput: boolean;
  readonly normalizeInput: boolean;
}

/** One main-pass dispatch: a part (main groups or outliers) of every layer of the stack. */
export interface VqGemvPassPlan {
  readonly part: 'main' | 'outliers';
  /** `subgroups` (vqGemvSubgroupsWgsl) or `workgroup` (vqGemvWgsl, workgroup-memory reduction). */
  readonly variant: 'subgroups' | 'workgroup';
  readonly constants: VqGemvConstants;
  readonly params: VqGemvParams;
  /** (Σ tiles of rowsPerWorkgroup vector-rows, splits, G · tokens). */
  readonly workgroups: readonly [number, number, number];
}

/** Everything `createVqGemvDispatch` records, decided without a GPU. */
export interface VqGemvPlan {
  readonly workgroupSize: number;
  readonly rowsPerWorkgroup: 1 | 2;
  /** Workgroups that feed each output: Σ over parts of groups × splits. 1 means the main pass writes y. */
  readonly slots: number;
  readonly passes: readonly VqGemvPassPlan[];
  /** The split-K reduction, when slots > 1. */
  readonly reduce: VqGemvReducePlan | undefined;
}

/** The split-K reduction of the partials `[slots, tokens, outputs]` f32 into y. */
export interface VqGemvReducePlan {
  readonly constants: { readonly workgroupSize: number };
  readonly params: VqGemvReduceParams;
  readonly workgroups: readonly [number, number, number];
  readonly partialsByteLength: number;
}

/** How one part (main groups or outliers) of a layer is cut into workgroups; see {@link planVqGemvPart}. */
export interface VqGemvPartPlan {
  /** Fields (columns of the part) per workgroup. */
  readonly fieldsPerSplit: number;
  /** Workgroups per (vector-row, group, token). */
  readonly splits: number;
}

/**
 * Workgroups the automatic column split aims at: about 8 per SM of a 132-SM H100/H200 (WebGPU does not tell the SM
 * count); the H100 sweep that chose it is in {@link VqGemvOptions.targetWorkgroups}.
 */
export const vqGemvTargetWorkgroups = 1024;

/**
 * Chooses the column splits of a part with `rows` vector-rows × `groups` groups of `fieldsPerRow` fields:
 * about `targetWorkgroups` workgroups in all, but at least two full iterations (2 · `fieldsPerChunk` fields)
 * per invocation, so that a split's reduction and partial write stay a small share of its work; splits start
 * on a multiple of `fieldsPerChunk` so that chunks stay word-aligned.
 */
export function planVqGemvPart(
  part: { readonly rows: number; readonly groups: number; readonly fieldsPerRow: number },
  options: VqGemvOptions & { readonly fieldsPerChunk?: number } = {},
): VqGemvPartPlan {
  const workgroupSize = options.workgroupSize ?? 128;
  const perChunk = options.fieldsPerChunk ?? 4;
  const mostSplits = Math.max(1, Math.floor(part.fieldsPerRow / (2 * perChunk * workgroupSize)));
  const wanted = options.splits ?? Math.min(mostSplits, Math.max(1, Math.round((options.targetWorkgroups ?? vqGemvTargetWorkgroups) / (part.rows * part.groups))));
  const granule = Math.max(1, perChunk);
  const fieldsPerSplit = Math.ceil(part.fieldsPerRow / Math.max(1, Math.min(wanted, part.fieldsPerRow)) / granule) * granule;
  return { fieldsPerSplit, splits: Math.max(1, Math.ceil(part.fieldsPerRow / fieldsPerSplit)) };
}

/**
 * How the fused VQ-GEMV reads `totalBits`-bit fields: in word-aligned chunks of `chunkFields` fields
 * (`chunkWords` words) when such a chunk is at most 8 words, `unroll` chunks per iteration so that about 8
 * fields (codebook gathers) are in flight per invocation; otherwise one field at a time from two words.
 */
export function planVqGemvChunks(totalBits: number): { aligned: boolean; chunkFields: number; chunkWords: number; unroll: number } {
  let divisor = 32;
  while (totalBits % divisor !== 0) divisor /= 2;
  const chunkFields = 32 / divisor;
  const chunkWords = totalBits / divisor;
  if (chunkWords > 8) return { aligned: false, chunkFields: 1, chunkWords: 2, unroll: 1 };
  return { aligned: true, chunkFields, chunkWords, unroll: Math.max(1, Math.floor(8 / chunkFields)) };
}

/** The layout fields {@link vqGemvCoversRows} reads. */
interface RowCoverage {
  readonly layout: { readonly groupNum: number; readonly hasOutliers: boolean };
}

/**
 * Whether one fused VQ-GEMV workgroup sees every column of a row of `layers` (one group, no outliers), as
 * `normalizeInput` needs.
 */
export function vqGemvCoversRows(layers: RowCoverage | readonly RowCoverage[]): boolean {
  const list = Array.isArray(layers) ? (layers as readonly RowCoverage[]) : [layers as RowCoverage];
  return list.every((layer) => layer.layout.groupNum === 1 && !layer.layout.hasOutliers);
}

/** One part of the stacked layers (main groups or outliers) as the main pass sees it. */
interface VqGemvPart {
  readonly name: 'main' | 'outliers';
  readonly groups: number;
  readonly fieldsPerRow: number;
  readonly rowWords: number;
  readonly columnOffset: number;
  readonly vectorLength: number;
  readonly indexBits: number;
  readonly residualBits: number;
  readonly centroidFormat: number;
  readonly residualFormat: number;
  /** Words between codebook entries in the buffers. */
  readonly entryWords: number;
  readonly residualEntryWords: number;
  readonly groupCentroidWords: number;
  readonly groupResidualWords: number;
  /** Vector-rows of a layer of the stack in this part. */
  readonly rowsOf: (layer: VqGemvLayerPlacement) => number;
}

/**
 * Plans the fused VQ-GEMV of one layer or of a stack of layers that share their buffers (checked by the
 * caller, see `vqStackMismatch`): validates the shape and options, then picks the variant, the workgroup
 * size, the rows per workgroup, the chunking and column splits of each part, the grid, the uniforms (with
 * the layer table) and whether a split-K reduction follows. Pure: the same inputs give the same plan.
 *
 * @param layers - 1 to 4 layers, in output order.
 * @throws {RangeError} as `createVqGemvDispatch`, except for layers that cannot share one dispatch.
 */
export function planVqGemv(
  layers: readonly VqGemvLayerPlacement[],
  shape: VqGemvShape,
  options: VqGemvOptions,
  device: VqGemvDeviceLimits,
): VqGemvPlan {
  const fn = 'createVqGemvDispatch';
  const layer = layers[0];
  const { layout } = layer;
  const { inFeatures } = layout;
  const outFeatures = layers.reduce((sum, each) => sum + each.layout.outFeatures, 0);
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens, 1, maxVqGemvTokens);
  const upOffset = shape.swigluUpOffset === undefined ? undefined : assertCount(fn, 'shape.swigluUpOffset', shape.swigluUpOffset, inFeatures);
  const xWidth = (upOffset ?? 0) + inFeatures;
  const xStride = assertCount(fn, 'shape.xStride', shape.xStride ?? xWidth, xWidth);
  const yStride = assertCount(fn, 'shape.yStride', shape.yStride ?? outFeatures, outFeatures);
  const workgroupSize = options.workgroupSize ?? 128;
  const limit = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > limit || (workgroupSize & (workgroupSize - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize must be a power of two ≤ ${limit} (got ${workgroupSize})`);
  }
  const useSubgroups = options.useSubgroups ?? device.subgroups;
  const rowsPerWorkgroup = options.rowsPerWorkgroup ?? (planVqGemvChunks(layout.indexBits + layout.residualBits).unroll === 1 || layout.numCentroids <= 4096 ? 2 : 1);
  if (rowsPerWorkgroup !== 1 && rowsPerWorkgroup !== 2) throw new RangeError(`${fn}: options.rowsPerWorkgroup must be 1 or 2 (got ${String(rowsPerWorkgroup)})`);
  const normalize = shape.normalizeInput;
  if (normalize !== undefined) {
    if (!(normalize.epsilon >= 0 && Number.isFinite(normalize.epsilon))) throw new RangeError(`${fn}: shape.normalizeInput.epsilon must be a finite number ≥ 0 (got ${normalize.epsilon})`);
    if (!vqGemvCoversRows(layers)) throw new RangeError(`${fn}: shape.normalizeInput needs layers with one group and no outliers (got G ${layout.groupNum}, O ${layout.outlierSize})`);
    if (upOffset !== undefined) throw new RangeError(`${fn}: shape.normalizeInput and shape.swigluUpOffset exclude each other`);
  }
  const widestVector = Math.max(layout.vectorLength, layout.outlierVectorLength);
  if (widestVector > maxVqGemvVectorLength) {
    throw new RangeError(`${fn}: the vector length must be at most ${maxVqGemvVectorLength} (got ${widestVector}); use dequantization + GEMV`);
  }
  // Reduction scratch, the reduced quads, and the Σx² slots when the kernel normalizes its input.
  const squareBytes = normalize ? (useSubgroups ? Math.max(workgroupSize / 4, 1) : workgroupSize) * 4 + 4 : 0;
  const reduceBytes = (useSubgroups ? Math.max(workgroupSize / 4, 1) * 4 : workgroupSize * Math.ceil(widestVector / 4)) * 16 + 64 + squareBytes;
  if (reduceBytes > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `${fn}: the reduction needs ${reduceBytes} bytes of workgroup memory, above maxComputeWorkgroupStorageSize (${device.limits.maxComputeWorkgroupStorageSize}); lower options.workgroupSize`,
    );
  }

  const parts = planParts(layer);
  const chunkPlans = parts.map((part) => {
    const plan = planVqGemvChunks(part.indexBits + part.residualBits);
    // About 8 fields in flight per invocation over its rows: a second row halves the unroll (v8-k256-r256:
    // 2 chunks × 2 fields × 2 rows × 2 gathers, the 16 loads in flight of one row at unroll 4).
    const unroll = options.unroll ?? Math.max(1, Math.floor(plan.unroll / rowsPerWorkgroup));
    // An iteration's index words live in a 9-word array of the kernel (one spare for a straddling field).
    if (!Number.isInteger(unroll) || unroll < 1 || (plan.aligned && unroll * plan.chunkWords > 8)) {
      throw new RangeError(`${fn}: options.unroll must be an integer with unroll × ${plan.chunkWords} index words ≤ 8 (got ${unroll})`);
    }
    return { ...plan, unroll };
  });
  // Workgroups along x: rowsPerWorkgroup vector-rows each; tiles do not straddle layers.
  const tiles = parts.map((part) => layers.reduce((sum, each) => sum + Math.ceil(part.rowsOf(each) / rowsPerWorkgroup), 0));
  const partPlans = parts.map((part, index) =>
    planVqGemvPart(
      { rows: tiles[index], groups: part.groups, fieldsPerRow: part.fieldsPerRow },
      {
        ...options,
        // RMSNorm in the kernel needs every column of a row in one workgroup.
        splits: normalize ? 1 : options.splits,
        targetWorkgroups: normalize ? 1 : options.targetWorkgroups,
        workgroupSize,
        fieldsPerChunk: chunkPlans[index].chunkFields * chunkPlans[index].unroll,
      },
    ),
  );
  const slots = parts.reduce((sum, part, index) => sum + part.groups * partPlans[index].splits, 0);
  const directOutput = slots === 1;

  const passes: VqGemvPassPlan[] = [];
  let slot = 0;
  for (const [index, part] of parts.entries()) {
    const { fieldsPerSplit, splits } = partPlans[index];
    const chunks = chunkPlans[index];
    passes.push({
      part: part.name,
      variant: useSubgroups ? 'subgroups' : 'workgroup',
      constants: {
        workgroupSize,
        vectorLength: part.vectorLength,
        indexBits: part.indexBits,
        residualBits: part.residualBits,
        centroidFormat: part.centroidFormat,
        residualFormat: part.residualFormat,
        entryWords: part.entryWords,
        residualEntryWords: part.residualEntryWords,
        alignedChunks: chunks.aligned,
        chunkFields: chunks.chunkFields,
        chunkWords: chunks.chunkWords,
        unroll: chunks.unroll,
        directOutput,
        hasPerm: layer.words.perm !== undefined,
        hasNorm: layer.words.norm !== undefined,
        hasBias: layer.words.bias !== undefined,
        rowsPerWorkgroup,
        swigluInput: upOffset !== undefined,
        normalizeInput: normalize !== undefined,
      },
      params: {
        rowWords: part.rowWords,
        fieldsPerRow: part.fieldsPerRow,
        columnOffset: part.columnOffset,
        fieldsPerSplit,
        splits,
        slot,
        xStride,
        yStride,
        tokens,
        inFeatures,
        projections: layers.length,
        partialStride: outFeatures,
        groupCentroidWords: part.groupCentroidWords,
        groupResidualWords: part.groupResidualWords,
        upOffset: upOffset ?? 0,
        epsilon: normalize?.epsilon ?? 0,
        table: layerTable(layers, part, rowsPerWorkgroup),
      },
      workgroups: checkWorkgroups(fn, device, tiles[index], splits, part.groups * tokens),
    });
    slot += part.groups * splits;
  }
  const reduce = planVqGemvReduce(fn, device, { outputs: outFeatures, tokens, slots, yStride });
  return { workgroupSize, rowsPerWorkgroup, slots, passes, reduce };
}

/**
 * The split-K reduction of every VQ-GEMV kernel: `slots` partials `[slots, tokens, outputs]` f32 summed in slot
 * order into y, 256 outputs per workgroup; undefined when one workgroup feeds each output (slots = 1).
 */
export function planVqGemvReduce(fn: string, device: VqGemvDeviceLimits, params: VqGemvReduceParams): VqGemvReducePlan | undefined {
  if (params.slots === 1) return undefined;
  return {
    constants: { workgroupSize: 256 },
    params,
    workgroups: checkWorkgroups(fn, device, Math.ceil(params.outputs / 256), params.tokens),
    partialsByteLength: params.slots * params.tokens * params.outputs * 4,
  };
}

/** The main part of a stack (its first layer stands for all: they share the layout), and its outliers if any. */
function planParts(layer: VqGemvLayerPlacement): VqGemvPart[] {
  const { layout } = layer;
  const elementWords = (format: number) => (format === 0 ? 1 : 0.5);
  const parts: VqGemvPart[] = [
    {
      name: 'main',
      groups: layout.groupNum,
      fieldsPerRow: layout.groupSize,
      rowWords: layout.rowWords,
      columnOffset: layout.outlierSize,
      vectorLength: layout.vectorLength,
      indexBits: layout.indexBits,
      residualBits: layout.residualBits,
      centroidFormat: layer.centroidFormat,
      residualFormat: layer.residualFormat,
      entryWords: layer.centroidStride * elementWords(layer.centroidFormat),
      residualEntryWords: layer.residualStride * elementWords(layer.residualFormat),
      groupCentroidWords: layout.numCentroids * layer.centroidStride * elementWords(layer.centroidFormat),
      groupResidualWords: Math.max(layout.numResidualCentroids, 0) * layer.residualStride * elementWords(layer.residualFormat),
      rowsOf: (each) => each.layout.vectorRows,
    },
  ];
  if (layout.hasOutliers && layer.words.outlierIndices !== undefined && layer.words.outlierCentroids !== undefined) {
    parts.push({
      name: 'outliers',
      groups: 1,
      fieldsPerRow: layout.outlierSize,
      rowWords: layer.outlierRowWords,
      columnOffset: 0,
      vectorLength: layout.outlierVectorLength,
      indexBits: Math.log2(layout.numOutlierCentroids),
      residualBits: 0,
      centroidFormat: layer.outlierFormat,
      residualFormat: layer.outlierFormat,
      entryWords: layer.outlierStride * elementWords(layer.outlierFormat),
      residualEntryWords: 1,
      groupCentroidWords: 0,
      groupResidualWords: 0,
      rowsOf: (each) => each.layout.outlierVectorRows,
    });
  }
  return parts;
}

/**
 * The `table` uniform of a part: per layer, its first tile and the word offsets of its tensors, its first
 * output, outputs and vector-rows (see `vqGemvParamsFields`); zero past the last layer.
 */
function layerTable(layers: readonly VqGemvLayerPlacement[], part: VqGemvPart, rowsPerWorkgroup: number): Uint32Array {
  const table = new Uint32Array(vqGemvTableWords);
  const main = part.name === 'main';
  let firstTile = 0;
  let firstOutput = 0;
  for (const [index, { layout, words }] of layers.entries()) {
    const rows = part.rowsOf(layers[index]);
    table.set(
      [
        firstTile,
        (main ? words.indices : words.outlierIndices) ?? 0,
        (main ? words.centroids : words.outlierCentroids) ?? 0,
        (main ? words.residualCentroids : undefined) ?? 0,
        words.perm ?? 0,
        words.norm ?? 0,
        firstOutput,
        layout.outFeatures,
        words.bias ?? 0,
        rows,
        0,
        0,
      ],
      12 * index,
    );
    firstTile += Math.ceil(rows / rowsPerWorkgroup);
    firstOutput += layout.outFeatures;
  }
  return table;
}
