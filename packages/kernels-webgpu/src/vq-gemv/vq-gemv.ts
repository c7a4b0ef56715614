import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

import { createStorageBuffer, createUniformBuffer, getPlaceholderBuffer, toBufferBinding } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, checkWorkgroups } from '../dispatch';
import type { Destroyable, KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';
import { packVqGemvParams, packVqGemvReduceParams } from './vq-gemv-params';
import { maxVqGemvProjections, vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';

const label = 'vq-gemv';

/** The most tokens one fused VQ-GEMV handles; use dequantization + GEMM for more (prefill). */
export const maxVqGemvTokens = 8;

/** The longest vectors (v and vo) the fused VQ-GEMV handles: each invocation keeps v sums in 4 vec4. */
export const maxVqGemvVectorLength = 16;

/** Buffers of {@link createVqGemvDispatch}. */
export interface VqGemvBuffers {
  /** `[tokens, xStride]` f32 activations, original column order. */
  readonly x: BufferBinding;
  /** `[tokens, yStride]` f32 output. */
  readonly y: BufferBinding;
}

/** Shape of {@link createVqGemvDispatch}. */
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
   * Default: enough for about `targetWorkgroups` workgroups, at least 4 fields per invocation.
   */
  readonly splits?: number;
  /**
   * Workgroups the automatic split aims at. Default 512, which keeps LLaMA-7B-sized layers (≥ 512 vector-rows)
   * at one split, so the main pass writes y directly without a reduce pass: on an H100 that was as fast as
   * 4 splits at 4096×11008 and faster at 4096×4096.
   */
  readonly targetWorkgroups?: number;
  /** Reduce with subgroup operations. Default: whether the device has the `subgroups` feature. */
  readonly useSubgroups?: boolean;
  /** Word-aligned chunks each invocation reads per iteration. Default: enough for about 8 fields. */
  readonly unroll?: number;
  /**
   * Vector-rows each workgroup of the main variant takes, 1 or 2: two rows share every read of x, perm and
   * norm and double the gathers in flight. Default 2 where one iteration holds a single chunk (fields of 12,
   * 20 or 28 bits, 8 to a chunk: v6-k4096 decoded 14% faster on an H100), else 1 (v8-k65536 was not faster).
   */
  readonly rowsPerWorkgroup?: 1 | 2;
}

/** How one part (main groups or outliers) of a layer is cut into workgroups; see {@link planVqGemvPart}. */
export interface VqGemvPartPlan {
  /** Fields (columns of the part) per workgroup. */
  readonly fieldsPerSplit: number;
  /** Workgroups per (vector-row, group, token). */
  readonly splits: number;
}

/**
 * Chooses the column splits of a part with `rows` vector-rows × `groups` groups of `fieldsPerRow` fields:
 * about `targetWorkgroups` workgroups in all, but at least one full iteration (`fieldsPerChunk` fields) per
 * invocation; splits start on a multiple of `fieldsPerChunk` so that chunks stay word-aligned.
 */
export function planVqGemvPart(
  part: { readonly rows: number; readonly groups: number; readonly fieldsPerRow: number },
  options: VqGemvOptions & { readonly fieldsPerChunk?: number } = {},
): VqGemvPartPlan {
  const workgroupSize = options.workgroupSize ?? 128;
  const perChunk = options.fieldsPerChunk ?? 4;
  const mostSplits = Math.max(1, Math.floor(part.fieldsPerRow / (perChunk * workgroupSize)));
  const wanted = options.splits ?? Math.min(mostSplits, Math.max(1, Math.round((options.targetWorkgroups ?? 512) / (part.rows * part.groups))));
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

/**
 * Records the fused VQ-GEMV of one resident layer, or of several layers that share their buffers
 * ({@link uploadVqLayers}) and the input x (q/k/v, gate/up): `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]`,
 * reading only the packed indices, the codebooks and x (W is never materialized). The outputs of the layers
 * land one after the other in y (`[q | k | v]`). One dispatch per part (main groups, outliers) — perm and norm
 * are applied while reading x — plus a deterministic split-K reduction when more than one workgroup feeds an
 * output (column splits, G > 1, outliers). Every format feature is supported: residual codebooks, outliers
 * with any vo, G groups, norm, perm, layer bias, f16/bf16/f32 codebooks, 1–32-bit fields.
 *
 * @throws {RangeError} when tokens is outside 1..8, a stride is too small, the layers cannot share one
 *   dispatch (different buffers or layouts; more than 4), the reduction does not fit workgroup memory, or the
 *   grid exceeds the device limit.
 */
export async function createVqGemvDispatch(
  device: GPUDevice,
  layers: GpuVqLayer | readonly GpuVqLayer[],
  buffers: VqGemvBuffers,
  shape: VqGemvShape,
  options: VqGemvOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createVqGemvDispatch';
  const stack = Array.isArray(layers) ? (layers as readonly GpuVqLayer[]) : [layers as GpuVqLayer];
  checkStack(fn, stack);
  const layer = stack[0];
  const { layout } = layer;
  const { inFeatures } = layout;
  const outFeatures = stack.reduce((sum, each) => sum + each.layout.outFeatures, 0);
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
  const useSubgroups = options.useSubgroups ?? device.features.has('subgroups');
  const pairRows = options.rowsPerWorkgroup ?? (planVqGemvChunks(layout.indexBits + layout.residualBits).unroll === 1 ? 2 : 1);
  if (pairRows !== 1 && pairRows !== 2) throw new RangeError(`${fn}: options.rowsPerWorkgroup must be 1 or 2 (got ${String(pairRows)})`);
  const normalize = shape.normalizeInput;
  if (normalize !== undefined) {
    if (!(normalize.epsilon >= 0 && Number.isFinite(normalize.epsilon))) throw new RangeError(`${fn}: shape.normalizeInput.epsilon must be a finite number ≥ 0 (got ${normalize.epsilon})`);
    if (!vqGemvCoversRows(stack)) throw new RangeError(`${fn}: shape.normalizeInput needs layers with one group and no outliers (got G ${layout.groups}, O ${layout.outlierSize})`);
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

  const placeholder = getPlaceholderBuffer(device);
  const words = (binding: BufferBinding | undefined): number => (binding === undefined ? 0 : (toBufferBinding(binding).offset ?? 0) / 4);
  const whole = (binding: BufferBinding | undefined): GPUBuffer => (binding === undefined ? placeholder : toBufferBinding(binding).buffer);
  const elementWords = (format: number) => (format === 0 ? 1 : 0.5);
  // Per layer: where its rows start and where its tensors sit in the shared buffers.
  const outputStarts: number[] = [];
  stack.reduce((start, each) => (outputStarts.push(start), start + each.layout.outFeatures), 0);
  const table = (part: 'main' | 'outliers'): number[] => {
    const entries: number[] = [];
    let tileStart = 0;
    for (const [index, each] of stack.entries()) {
      const main = part === 'main';
      const rows = main ? each.layout.vectorRows : each.layout.outlierVectorRows;
      entries.push(
        tileStart,
        words(main ? each.indices : each.outlierIndices),
        words(main ? each.centroids : each.outlierCentroids),
        words(main ? each.residualCentroids : undefined),
        words(each.perm),
        words(each.norm),
        outputStarts[index],
        each.layout.outFeatures,
        words(each.bias),
        rows,
        0,
        0,
      );
      tileStart += Math.ceil(rows / pairRows);
    }
    while (entries.length < 12 * maxVqGemvProjections) entries.push(0);
    return entries;
  };

  const parts: VqGemvPart[] = [
    {
      name: 'main',
      indices: layer.indices,
      centroids: layer.centroids,
      residual: layer.residualCentroids,
      rows: stack.reduce((sum, each) => sum + each.layout.vectorRows, 0),
      groups: layout.groups,
      fieldsPerRow: layout.groupSize,
      rowWords: layout.rowWords,
      columnOffset: layout.outlierSize,
      vectorLength: layout.vectorLength,
      indexBits: layout.indexBits,
      residualBits: layout.residualBits,
      tiles: stack.reduce((sum, each) => sum + Math.ceil(each.layout.vectorRows / pairRows), 0),
      centroidFormat: layer.centroidFormat,
      residualFormat: layer.residualFormat,
      entryWords: layer.centroidStride * elementWords(layer.centroidFormat),
      residualEntryWords: layer.residualStride * elementWords(layer.residualFormat),
      groupCentroidWords: layout.numCentroids * layer.centroidStride * elementWords(layer.centroidFormat),
      groupResidualWords: Math.max(layout.numResidualCentroids, 0) * layer.residualStride * elementWords(layer.residualFormat),
    },
  ];
  if (layout.hasOutliers && layer.outlierIndices && layer.outlierCentroids) {
    parts.push({
      name: 'outliers',
      indices: layer.outlierIndices,
      centroids: layer.outlierCentroids,
      residual: undefined,
      rows: stack.reduce((sum, each) => sum + each.layout.outlierVectorRows, 0),
      groups: 1,
      fieldsPerRow: layout.outlierSize,
      rowWords: layer.outlierRowWords,
      columnOffset: 0,
      vectorLength: layout.outlierVectorLength,
      indexBits: Math.log2(layout.numOutlierCentroids),
      residualBits: 0,
      tiles: stack.reduce((sum, each) => sum + Math.ceil(each.layout.outlierVectorRows / pairRows), 0),
      centroidFormat: layer.outlierFormat,
      residualFormat: layer.outlierFormat,
      entryWords: layer.outlierStride * elementWords(layer.outlierFormat),
      residualEntryWords: 1,
      groupCentroidWords: 0,
      groupResidualWords: 0,
    });
  }
  const chunkPlans = parts.map((part) => {
    const plan = planVqGemvChunks(part.indexBits + part.residualBits);
    return { ...plan, unroll: options.unroll ?? plan.unroll };
  });
  const plans = parts.map((part, index) =>
    planVqGemvPart(
      { rows: part.tiles, groups: part.groups, fieldsPerRow: part.fieldsPerRow },
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
  const slots = parts.reduce((sum, part, index) => sum + part.groups * plans[index].splits, 0);
  const directOutput = slots === 1;
  const owned: Destroyable[] = [];
  try {
    const partials = directOutput ? undefined : createStorageBuffer(device, `${label}/partials`, slots * tokens * outFeatures * 4);
    if (partials) owned.push(partials);
    const steps: KernelDispatch[] = [];
    let slot = 0;
    for (const [index, part] of parts.entries()) {
      const plan = plans[index];
      const chunks = chunkPlans[index];
      const variant = useSubgroups ? 'subgroups' : 'workgroup';
      const pipeline = await getComputePipeline(device, {
        label: `${label}/${variant}`,
        code: useSubgroups ? vqGemvSubgroupsWgsl : vqGemvWgsl,
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
          hasPerm: layer.perm !== undefined,
          hasNorm: layer.norm !== undefined,
          hasBias: layer.bias !== undefined,
          rowsPerWorkgroup: pairRows,
          swigluInput: upOffset !== undefined,
          normalizeInput: normalize !== undefined,
        },
      });
      const params = createUniformBuffer(
        device,
        label,
        packVqGemvParams({
          rowWords: part.rowWords,
          fieldsPerRow: part.fieldsPerRow,
          columnOffset: part.columnOffset,
          fieldsPerSplit: plan.fieldsPerSplit,
          splits: plan.splits,
          slot,
          xStride,
          yStride,
          tokens,
          inFeatures,
          projections: stack.length,
          partialStride: outFeatures,
          groupCentroidWords: part.groupCentroidWords,
          groupResidualWords: part.groupResidualWords,
          upOffset: upOffset ?? 0,
          epsilon: normalize?.epsilon ?? 0,
          table: Uint32Array.from(table(part.name)),
        }),
      );
      owned.push(params);
      steps.push(
        new ComputeStep(
          device,
          label,
          pipeline,
          [
            whole(part.indices),
            whole(part.centroids),
            whole(part.residual),
            buffers.x,
            whole(layer.perm),
            whole(layer.norm),
            whole(layer.bias),
            partials ?? buffers.y,
            params,
          ],
          checkWorkgroups(fn, device, part.tiles, plan.splits, part.groups * tokens),
        ),
      );
      slot += part.groups * plan.splits;
    }

    if (partials) {
      const reduce = await getComputePipeline(device, { label: `${label}/reduce`, code: vqGemvReduceWgsl, constants: { workgroupSize: 256 } });
      const params = createUniformBuffer(device, label, packVqGemvReduceParams({ outputs: outFeatures, tokens, slots, yStride }));
      owned.push(params);
      steps.push(
        new ComputeStep(device, `${label}/reduce`, reduce, [partials, buffers.y, params], checkWorkgroups(fn, device, Math.ceil(outFeatures / 256), tokens)),
      );
    }
    return new DispatchSequence(label, steps, owned);
  } catch (error) {
    for (const buffer of owned) buffer.destroy();
    throw error;
  }
}

/**
 * Whether one fused VQ-GEMV workgroup sees every column of a row of `layers` (one group, no outliers), as
 * `normalizeInput` needs.
 */
export function vqGemvCoversRows(layers: GpuVqLayer | readonly GpuVqLayer[]): boolean {
  const list = Array.isArray(layers) ? (layers as readonly GpuVqLayer[]) : [layers as GpuVqLayer];
  return list.every((layer) => layer.layout.groups === 1 && !layer.layout.hasOutliers);
}

/** One part of the packed layers (main groups or outliers) as the main pass sees it. */
interface VqGemvPart {
  readonly name: 'main' | 'outliers';
  readonly indices: BufferBinding;
  readonly centroids: BufferBinding;
  readonly residual: BufferBinding | undefined;
  /** Vector-rows of all layers. */
  readonly rows: number;
  readonly groups: number;
  readonly fieldsPerRow: number;
  readonly rowWords: number;
  readonly columnOffset: number;
  readonly vectorLength: number;
  readonly indexBits: number;
  readonly residualBits: number;
  /** Workgroups along x for rowsPerWorkgroup vector-rows each (tiles do not straddle layers). */
  readonly tiles: number;
  readonly centroidFormat: number;
  readonly residualFormat: number;
  /** Words between codebook entries in the buffers. */
  readonly entryWords: number;
  readonly residualEntryWords: number;
  readonly groupCentroidWords: number;
  readonly groupResidualWords: number;
}

/**
 * Why `layers` cannot run as one fused VQ-GEMV dispatch, or undefined when they can: 1 to 4 layers that share
 * every buffer (uploaded together with `uploadVqLayers`) and the whole layout but the number of outputs.
 */
export function vqStackMismatch(layers: readonly GpuVqLayer[]): string | undefined {
  if (layers.length < 1 || layers.length > maxVqGemvProjections) return `layers must hold 1 to ${maxVqGemvProjections} layers (got ${layers.length})`;
  const first = layers[0];
  const bufferOf = (binding: BufferBinding | undefined) => (binding === undefined ? undefined : toBufferBinding(binding).buffer);
  const shared = ['indices', 'centroids', 'residualCentroids', 'outlierIndices', 'outlierCentroids', 'perm', 'norm', 'bias'] as const;
  const layoutKeys = [
    'inFeatures',
    'vectorLength',
    'numCentroids',
    'numResidualCentroids',
    'groups',
    'groupSize',
    'rowWords',
    'outlierSize',
    'outlierVectorLength',
    'numOutlierCentroids',
  ] as const;
  const formatKeys = ['centroidFormat', 'residualFormat', 'outlierFormat', 'outlierRowWords'] as const;
  for (const [index, other] of layers.entries()) {
    for (const key of shared) {
      if (bufferOf(other[key]) !== bufferOf(first[key])) return `layer ${index} does not share the ${key} buffer of layer 0; upload them together with uploadVqLayers`;
    }
    for (const key of layoutKeys) {
      if (other.layout[key] !== first.layout[key]) return `layer ${index} has ${key} ${other.layout[key]}, layer 0 has ${first.layout[key]}; one dispatch needs the same layout`;
    }
    for (const key of formatKeys) {
      if (other[key] !== first[key]) return `layer ${index} has ${key} ${other[key]}, layer 0 has ${first[key]}`;
    }
  }
  return undefined;
}

function checkStack(fn: string, layers: readonly GpuVqLayer[]): void {
  const mismatch = vqStackMismatch(layers);
  if (mismatch) throw new RangeError(`${fn}: ${mismatch}`);
}

/**
 * Fused VQ-GEMV on the GPU (one-shot: uploads the packed layer, runs, reads back, frees).
 *
 * @param config - the layer config.
 * @param tensors - the stored tensors.
 * @param x - `[tokens, inFeatures]` f32.
 * @returns `[tokens, outFeatures]` f32.
 */
export async function vqGemv(
  device: GPUDevice,
  config: VptqLayerConfig,
  tensors: VptqLayerTensors,
  x: Float32Array,
  tokens = 1,
  options: VqGemvOptions = {},
): Promise<Float32Array> {
  const layer = uploadVqLayer(device, config, tensors, { label });
  try {
    const { inFeatures, outFeatures } = layer.layout;
    if (!(x instanceof Float32Array) || x.length !== tokens * inFeatures) {
      throw new RangeError(`vqGemv: x must be a Float32Array of tokens × inFeatures = ${tokens * inFeatures} values (got ${x?.length})`);
    }
    const [y] = await runKernel(device, label, [x], [tokens * outFeatures * 4], ([xBuffer], [yBuffer]) =>
      createVqGemvDispatch(device, layer, { x: xBuffer, y: yBuffer }, { tokens }, options),
    );
    return new Float32Array(y);
  } finally {
    layer.destroy();
  }
}

