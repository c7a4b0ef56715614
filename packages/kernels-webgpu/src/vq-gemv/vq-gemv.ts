import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

import { createStorageBuffer, createUniformBuffer, getPlaceholderBuffer, toBufferBinding } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence } from '../dispatch';
import type { Destroyable, KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';
import { planVqGemv } from './plan-vq-gemv';
import type { VqGemvLayerPlacement, VqGemvOptions, VqGemvReducePlan, VqGemvShape } from './plan-vq-gemv';
import { planVqGemvLanes, packVqGemvLanesParams } from './plan-vq-gemv-lanes';
import type { VqGemvLanesPlan } from './plan-vq-gemv-lanes';
import { planVqGemvOnChip } from './plan-vq-gemv-onchip';
import type { VqGemvOnChipPlan } from './plan-vq-gemv-onchip';
import { packVqGemvOnChipParams, packVqGemvPrepareXParams } from './vq-gemv-onchip-params';
import { vqGemvLanesWgsl } from './vq-gemv-lanes.wgsl';
import { vqGemvOnChipBlocksWgsl, vqGemvOnChipWordsWgsl, vqGemvPrepareXWgsl } from './vq-gemv-onchip.wgsl';
import { packVqGemvParams, packVqGemvReduceParams } from './vq-gemv-params';
import { maxVqGemvProjections, vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';

export { maxVqGemvTokens, maxVqGemvVectorLength, planVqGemvChunks, planVqGemvPart, vqGemvCoversRows } from './plan-vq-gemv';
export type { VqGemvOptions, VqGemvPartPlan, VqGemvShape } from './plan-vq-gemv';

const label = 'vq-gemv';

/** Buffers of {@link createVqGemvDispatch}. */
export interface VqGemvBuffers {
  /** `[tokens, xStride]` f32 activations, original column order. */
  readonly x: BufferBinding;
  /** `[tokens, yStride]` f32 output. */
  readonly y: BufferBinding;
}

/**
 * Records the fused VQ-GEMV of one resident layer, or of several layers that share their buffers
 * ({@link uploadVqLayers}) and the input x (q/k/v, gate/up): `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]`,
 * reading only the packed indices, the codebooks and x (W is never materialized). The outputs of the layers
 * land one after the other in y (`[q | k | v]`). One dispatch per part (main groups, outliers) — perm and norm
 * are applied while reading x — plus a deterministic split-K reduction when more than one workgroup feeds an
 * output (column splits, G > 1, outliers). Every format feature is supported: residual codebooks, outliers
 * with any vo, G groups, norm, perm, layer bias, f16/bf16/f32 codebooks, 1–32-bit fields. What is dispatched
 * is decided by {@link planVqGemv}; this function creates the pipelines, uniforms and bind groups.
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
  const stack = Array.isArray(layers) ? (layers as readonly GpuVqLayer[]) : [layers as GpuVqLayer];
  const mismatch = vqStackMismatch(stack);
  if (mismatch) throw new RangeError(`createVqGemvDispatch: ${mismatch}`);
  const placements = stack.map(placeVqGemvLayer);
  const limits = { limits: device.limits, subgroups: device.features.has('subgroups') };
  // Validates the shape and options for both kernels.
  const plan = planVqGemv(placements, shape, options, limits);
  const lanesLayout = stack[0].indexLayout === 'lanes';
  const kernel = options.kernel ?? (lanesLayout ? 'lanes' : 'streaming');
  if (kernel !== 'auto' && kernel !== 'onchip' && kernel !== 'streaming' && kernel !== 'lanes') {
    throw new RangeError(`createVqGemvDispatch: options.kernel must be auto, onchip, streaming or lanes (got ${String(kernel)})`);
  }
  if (lanesLayout && kernel !== 'lanes' && kernel !== 'auto') {
    throw new RangeError(`createVqGemvDispatch: the layers were uploaded with indexLayout lanes, which only options.kernel lanes (or auto) reads (got ${kernel})`);
  }
  if (!lanesLayout && kernel === 'lanes') throw new RangeError(`createVqGemvDispatch: options.kernel lanes needs layers uploaded with indexLayout: 'lanes' (uploadVqLayers)`);
  if (lanesLayout) return createLanesDispatch(device, stack[0], buffers, planVqGemvLanes(placements, shape, options, limits));
  if (kernel !== 'streaming') {
    const onChip = planVqGemvOnChip(placements, shape, options, limits);
    if (onChip.kernel === 'onchip') return createOnChipDispatch(device, stack, buffers, onChip);
    if (kernel === 'onchip') throw new RangeError(`createVqGemvDispatch: options.kernel is onchip but ${onChip.reason}`);
  }
  const layer = stack[0];
  const placeholder = getPlaceholderBuffer(device);
  const whole = (binding: BufferBinding | undefined): GPUBuffer => (binding === undefined ? placeholder : toBufferBinding(binding).buffer);
  const owned: Destroyable[] = [];
  try {
    const partials = plan.reduce && createStorageBuffer(device, `${label}/partials`, plan.reduce.partialsByteLength);
    if (partials) owned.push(partials);
    const steps: KernelDispatch[] = [];
    for (const pass of plan.passes) {
      const pipeline = await getComputePipeline(device, {
        label: `${label}/${pass.variant}`,
        code: pass.variant === 'subgroups' ? vqGemvSubgroupsWgsl : vqGemvWgsl,
        constants: { ...pass.constants },
      });
      const params = createUniformBuffer(device, label, packVqGemvParams(pass.params));
      owned.push(params);
      const main = pass.part === 'main';
      const bindings = [
        whole(main ? layer.indices : layer.outlierIndices),
        whole(main ? layer.centroids : layer.outlierCentroids),
        whole(main ? layer.residualCentroids : undefined),
        buffers.x,
        whole(layer.perm),
        whole(layer.norm),
        whole(layer.bias),
        partials ?? buffers.y,
        params,
      ];
      steps.push(new ComputeStep(device, label, pipeline, bindings, pass.workgroups));
    }
    if (partials && plan.reduce) steps.push(await recordVqGemvReduce(device, plan.reduce, partials, buffers.y, owned));
    return new DispatchSequence(label, steps, owned);
  } catch (error) {
    for (const buffer of owned) buffer.destroy();
    throw error;
  }
}

/** Records the split-K reduction that every VQ-GEMV kernel ends with when several workgroups feed an output; its uniform joins `owned`. */
async function recordVqGemvReduce(device: GPUDevice, reduce: VqGemvReducePlan, partials: GPUBuffer, y: BufferBinding, owned: Destroyable[]): Promise<KernelDispatch> {
  const pipeline = await getComputePipeline(device, { label: `${label}/reduce`, code: vqGemvReduceWgsl, constants: reduce.constants });
  const params = createUniformBuffer(device, label, packVqGemvReduceParams(reduce.params));
  owned.push(params);
  return new ComputeStep(device, `${label}/reduce`, pipeline, [partials, y, params], reduce.workgroups);
}

/** Records the lanes kernel and, when a row is cut into several column tiles or groups, the split-K reduction. */
async function createLanesDispatch(device: GPUDevice, layer: GpuVqLayer, buffers: VqGemvBuffers, plan: VqGemvLanesPlan): Promise<KernelDispatch> {
  const placeholder = getPlaceholderBuffer(device);
  const whole = (binding: BufferBinding | undefined): GPUBuffer => (binding === undefined ? placeholder : toBufferBinding(binding).buffer);
  const owned: Destroyable[] = [];
  const own = <T extends Destroyable>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  try {
    const steps: KernelDispatch[] = [];
    const partials = plan.reduce && own(createStorageBuffer(device, `${label}/partials`, plan.reduce.partialsByteLength));
    const pipeline = await getComputePipeline(device, { label: `${label}/lanes`, code: vqGemvLanesWgsl, constants: { ...plan.constants } });
    const params = own(createUniformBuffer(device, label, packVqGemvLanesParams(plan.params)));
    const bindings = [
      whole(layer.indices),
      whole(layer.centroids),
      whole(layer.residualCentroids),
      buffers.x,
      whole(layer.perm),
      whole(layer.norm),
      whole(layer.bias),
      partials ?? buffers.y,
      params,
    ];
    steps.push(new ComputeStep(device, `${label}/lanes`, pipeline, bindings, plan.workgroups));
    if (partials && plan.reduce) steps.push(await recordVqGemvReduce(device, plan.reduce, partials, buffers.y, owned));
    return new DispatchSequence(label, steps, owned);
  } catch (error) {
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** Records the on-chip kernel: the prepare pass (perm, norm), the main pass, the split-K reduction. */
async function createOnChipDispatch(device: GPUDevice, stack: readonly GpuVqLayer[], buffers: VqGemvBuffers, plan: VqGemvOnChipPlan): Promise<KernelDispatch> {
  const layer = stack[0];
  const placeholder = getPlaceholderBuffer(device);
  const whole = (binding: BufferBinding | undefined): GPUBuffer => (binding === undefined ? placeholder : toBufferBinding(binding).buffer);
  const owned: Destroyable[] = [];
  const own = <T extends Destroyable>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  try {
    const steps: KernelDispatch[] = [];
    let x: BufferBinding = buffers.x;
    let beta: GPUBuffer = placeholder;
    if (plan.prepare) {
      const prepare = plan.prepare;
      const xq = own(createStorageBuffer(device, `${label}/xq`, prepare.xqByteLength));
      beta = own(createStorageBuffer(device, `${label}/beta`, prepare.betaByteLength));
      const pipeline = await getComputePipeline(device, { label: `${label}/prepare-x`, code: vqGemvPrepareXWgsl, constants: prepare.constants });
      const params = own(createUniformBuffer(device, label, packVqGemvPrepareXParams(prepare.params)));
      steps.push(new ComputeStep(device, `${label}/prepare-x`, pipeline, [buffers.x, whole(layer.perm), whole(layer.norm), xq, beta, params], prepare.workgroups));
      x = xq;
    }
    const partials = plan.reduce && own(createStorageBuffer(device, `${label}/partials`, plan.reduce.partialsByteLength));
    const pipeline = await getComputePipeline(device, {
      label: `${label}/onchip-${plan.layout}`,
      code: plan.layout === 'blocks' ? vqGemvOnChipBlocksWgsl : vqGemvOnChipWordsWgsl,
      constants: { ...plan.constants },
    });
    const params = own(createUniformBuffer(device, label, packVqGemvOnChipParams(plan.params)));
    const bindings = [whole(layer.indices), whole(layer.centroids), whole(layer.residualCentroids), x, beta, whole(layer.bias), partials ?? buffers.y, params];
    steps.push(new ComputeStep(device, `${label}/onchip`, pipeline, bindings, plan.workgroups));
    if (partials && plan.reduce) steps.push(await recordVqGemvReduce(device, plan.reduce, partials, buffers.y, owned));
    return new DispatchSequence(label, steps, owned);
  } catch (error) {
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** What {@link planVqGemv} needs of a resident layer: its layout and formats, and the word offsets of its ranges. */
export function placeVqGemvLayer(layer: GpuVqLayer): VqGemvLayerPlacement {
  const words = (binding: BufferBinding | undefined): number | undefined => (binding === undefined ? undefined : (toBufferBinding(binding).offset ?? 0) / 4);
  return {
    layout: layer.layout,
    centroidFormat: layer.centroidFormat,
    centroidStride: layer.centroidStride,
    residualFormat: layer.residualFormat,
    residualStride: layer.residualStride,
    outlierFormat: layer.outlierFormat,
    outlierStride: layer.outlierStride,
    outlierRowWords: layer.outlierRowWords,
    words: {
      indices: words(layer.indices) ?? 0,
      centroids: words(layer.centroids) ?? 0,
      residualCentroids: words(layer.residualCentroids),
      outlierIndices: words(layer.outlierIndices),
      outlierCentroids: words(layer.outlierCentroids),
      perm: words(layer.perm),
      norm: words(layer.norm),
      bias: words(layer.bias),
    },
  };
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
    'groupNum',
    'groupSize',
    'rowWords',
    'outlierSize',
    'outlierVectorLength',
    'numOutlierCentroids',
  ] as const;
  const formatKeys = ['centroidFormat', 'residualFormat', 'outlierFormat', 'outlierRowWords', 'indexLayout'] as const;
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
  const layer = uploadVqLayer(device, { config, tensors }, { label, indexLayout: options.kernel === 'lanes' ? 'lanes' : 'rows' });
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

