import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

import { createStorageBuffer, createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';
import { vqGemvPrepareWgsl, vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';

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
 * about `targetWorkgroups` workgroups in all, but at least 4 fields per invocation (one unrolled iteration).
 */
export function planVqGemvPart(
  part: { readonly rows: number; readonly groups: number; readonly fieldsPerRow: number },
  options: VqGemvOptions = {},
): VqGemvPartPlan {
  const workgroupSize = options.workgroupSize ?? 128;
  const mostSplits = Math.max(1, Math.floor(part.fieldsPerRow / (4 * workgroupSize)));
  const wanted = options.splits ?? Math.min(mostSplits, Math.max(1, Math.round((options.targetWorkgroups ?? 512) / (part.rows * part.groups))));
  const fieldsPerSplit = Math.ceil(part.fieldsPerRow / Math.max(1, Math.min(wanted, part.fieldsPerRow)));
  return { fieldsPerSplit, splits: Math.ceil(part.fieldsPerRow / fieldsPerSplit) };
}

/**
 * Records the fused VQ-GEMV of a resident layer, `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]`, reading only
 * the packed indices, the codebooks and x (W is never materialized): a gather/scale pass, one pass per
 * part (main groups, outliers), and a deterministic split-K reduction when more than one workgroup feeds
 * an output. Every format feature is supported: residual codebooks, outliers with any vo, G groups, norm,
 * perm, layer bias, f16/bf16/f32 codebooks, 1–32-bit fields.
 *
 * @throws {RangeError} when tokens is outside 1..8, tokens · v > 64, a stride is too small, the reduction
 *   does not fit workgroup memory, or the grid exceeds the device limit.
 */
export async function createVqGemvDispatch(
  device: GPUDevice,
  layer: GpuVqLayer,
  buffers: VqGemvBuffers,
  shape: VqGemvShape,
  options: VqGemvOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createVqGemvDispatch';
  const { layout } = layer;
  const { inFeatures, outFeatures } = layout;
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens, 1, maxVqGemvTokens);
  const xStride = assertCount(fn, 'shape.xStride', shape.xStride ?? inFeatures, inFeatures);
  const yStride = assertCount(fn, 'shape.yStride', shape.yStride ?? outFeatures, outFeatures);
  const workgroupSize = options.workgroupSize ?? 128;
  const limit = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > limit || (workgroupSize & (workgroupSize - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize must be a power of two ≤ ${limit} (got ${workgroupSize})`);
  }
  const useSubgroups = options.useSubgroups ?? device.features.has('subgroups');
  const widestVector = Math.max(layout.vectorLength, layout.outlierVectorLength);
  if (widestVector > maxVqGemvVectorLength) {
    throw new RangeError(`${fn}: the vector length must be at most ${maxVqGemvVectorLength} (got ${widestVector}); use dequantization + GEMV`);
  }
  const reduceBytes = (useSubgroups ? Math.max(workgroupSize / 4, 1) * 4 : workgroupSize * Math.ceil(widestVector / 4)) * 16 + 64;
  if (reduceBytes > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `${fn}: the reduction needs ${reduceBytes} bytes of workgroup memory, above maxComputeWorkgroupStorageSize (${device.limits.maxComputeWorkgroupStorageSize}); lower options.workgroupSize`,
    );
  }

  const placeholder = getPlaceholderBuffer(device);
  const needsPrepare = layer.perm !== undefined || layer.norm !== undefined;
  const hasBeta = layer.norm !== undefined;
  const betaBlocks = Math.ceil(inFeatures / 256);
  const owned: GPUBuffer[] = [];
  try {
    // Without perm and norm, xs is x itself and the gather pass is skipped.
    let xs: BufferBinding = buffers.x;
    let xsStride = xStride;
    let beta: BufferBinding = placeholder;
    const steps: KernelDispatch[] = [];
    if (needsPrepare) {
      const xsBuffer = createStorageBuffer(device, `${label}/xs`, tokens * inFeatures * 4);
      const betaBuffer = createStorageBuffer(device, `${label}/beta`, tokens * betaBlocks * 4);
      owned.push(xsBuffer, betaBuffer);
      xs = xsBuffer;
      xsStride = inFeatures;
      if (hasBeta) beta = betaBuffer;
      const prepare = await getComputePipeline(device, {
        label: `${label}/prepare`,
        code: vqGemvPrepareWgsl,
        constants: { workgroupSize: 256, hasPerm: layer.perm !== undefined, hasNorm: hasBeta },
      });
      const prepareParams = createUniformBuffer(device, label, packParams([['u32', inFeatures], ['u32', xStride], ['u32', inFeatures]]));
      owned.push(prepareParams);
      steps.push(
        new ComputeStep(
          device,
          `${label}/prepare`,
          prepare,
          [buffers.x, layer.perm ?? placeholder, layer.norm ?? placeholder, xsBuffer, betaBuffer, prepareParams],
          checkWorkgroups(fn, device, betaBlocks, tokens),
        ),
      );
    }

    const parts = [
      {
        indices: layer.indices,
        centroids: layer.centroids,
        residual: layer.residualCentroids,
        rows: layout.vectorRows,
        groups: layout.groups,
        fieldsPerRow: layout.groupSize,
        rowWords: layout.rowWords,
        columnOffset: layout.outlierSize,
        vectorLength: layout.vectorLength,
        indexBits: layout.indexBits,
        residualBits: layout.residualBits,
        centroidFormat: layer.centroidFormat,
        residualFormat: layer.residualFormat,
        centroidsPerGroup: layout.numCentroids * layout.vectorLength,
        residualPerGroup: layout.numResidualCentroids * layout.vectorLength,
      },
    ];
    if (layout.hasOutliers && layer.outlierIndices && layer.outlierCentroids) {
      parts.push({
        indices: layer.outlierIndices,
        centroids: layer.outlierCentroids,
        residual: undefined,
        rows: layout.outlierVectorRows,
        groups: 1,
        fieldsPerRow: layout.outlierSize,
        rowWords: layer.outlierRowWords,
        columnOffset: 0,
        vectorLength: layout.outlierVectorLength,
        indexBits: Math.log2(layout.numOutlierCentroids),
        residualBits: 0,
        centroidFormat: layer.outlierFormat,
        residualFormat: layer.outlierFormat,
        centroidsPerGroup: layout.numOutlierCentroids * layout.outlierVectorLength,
        residualPerGroup: 0,
      });
    }
    const plans = parts.map((part) =>
      planVqGemvPart({ rows: part.rows, groups: part.groups, fieldsPerRow: part.fieldsPerRow }, { ...options, workgroupSize }),
    );
    const slots = parts.reduce((sum, part, index) => sum + part.groups * plans[index].splits, 0);
    const directOutput = slots === 1;
    const partials = directOutput ? undefined : createStorageBuffer(device, `${label}/partials`, slots * tokens * outFeatures * 4);
    if (partials) owned.push(partials);

    let slot = 0;
    for (const [index, part] of parts.entries()) {
      const plan = plans[index];
      const pipeline = await getComputePipeline(device, {
        label: useSubgroups ? `${label}/subgroups` : label,
        code: useSubgroups ? vqGemvSubgroupsWgsl : vqGemvWgsl,
        constants: {
          workgroupSize,
          vectorLength: part.vectorLength,
          indexBits: part.indexBits,
          residualBits: part.residualBits,
          centroidFormat: part.centroidFormat,
          residualFormat: part.residualFormat,
          directOutput,
          hasBias: layer.bias !== undefined,
          hasBeta,
        },
      });
      const params = createUniformBuffer(
        device,
        label,
        packParams([
          ['u32', part.rows],
          ['u32', part.rowWords],
          ['u32', part.fieldsPerRow],
          ['u32', part.columnOffset],
          ['u32', plan.fieldsPerSplit],
          ['u32', plan.splits],
          ['u32', slot],
          ['u32', outFeatures],
          ['u32', xsStride],
          ['u32', yStride],
          ['u32', part.centroidsPerGroup],
          ['u32', part.residualPerGroup],
          ['u32', tokens],
          ['u32', betaBlocks],
        ]),
      );
      owned.push(params);
      steps.push(
        new ComputeStep(
          device,
          label,
          pipeline,
          [part.indices, part.centroids, part.residual ?? placeholder, xs, beta, layer.bias ?? placeholder, partials ?? buffers.y, params],
          checkWorkgroups(fn, device, part.rows, plan.splits, part.groups * tokens),
        ),
      );
      slot += part.groups * plan.splits;
    }

    if (partials) {
      const reduce = await getComputePipeline(device, {
        label: `${label}/reduce`,
        code: vqGemvReduceWgsl,
        constants: { workgroupSize: 256, hasBias: layer.bias !== undefined, hasBeta },
      });
      const params = createUniformBuffer(
        device,
        label,
        packParams([['u32', outFeatures], ['u32', tokens], ['u32', slots], ['u32', yStride], ['u32', betaBlocks]]),
      );
      owned.push(params);
      steps.push(
        new ComputeStep(
          device,
          `${label}/reduce`,
          reduce,
          [partials, beta, layer.bias ?? placeholder, buffers.y, params],
          checkWorkgroups(fn, device, Math.ceil(outFeatures / 256), tokens),
        ),
      );
    }
    return new DispatchSequence(label, steps, owned);
  } catch (error) {
    for (const buffer of owned) buffer.destroy();
    throw error;
  }
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

