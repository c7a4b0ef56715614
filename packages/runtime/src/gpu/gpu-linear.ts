import { GpuVqLayer, createGemmDispatch, createGemvDispatch, createVqDequantDispatch, createVqGemvDispatch, describeWeights, maxGemvTokens, maxVqGemvTokens, vqDequantByteLength, vqGemvCoversRows } from '@vptq/kernels-webgpu';
import { DispatchSequence } from '@vptq/kernels-webgpu/authoring';
import type { BufferBinding, GpuWeights, KernelDispatch, VqGemvOptions, WeightFormat } from '@vptq/kernels-webgpu';

/** A dense `[outFeatures, inFeatures]` projection resident on the GPU (f32 or f16 storage). */
export interface DenseGpuLinear {
  readonly kind: 'dense';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weights: GpuWeights;
  /** `[outFeatures]` f32, when the projection has a bias. */
  readonly bias: GPUBuffer | undefined;
  /** Bytes of GPU memory held (weights and bias). */
  readonly byteLength: number;
  destroy(): void;
}

/** A VPTQ-quantized projection resident in its packed form (never dequantized for decode). */
export interface VqGpuLinear {
  readonly kind: 'vq';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layer: GpuVqLayer;
  readonly byteLength: number;
  destroy(): void;
}

/**
 * VPTQ projections that share their input and their buffers (`uploadVqLayers`): q/k/v or gate/up of one
 * layer, run as one fused VQ-GEMV dispatch for a decoded token with outputs side by side. The layers are the
 * same objects as the per-projection {@link VqGpuLinear}s, which own the buffers.
 */
export interface VqStackGpuLinear {
  readonly kind: 'vq-stack';
  readonly inFeatures: number;
  /** Sum of the layers' outputs. */
  readonly outFeatures: number;
  readonly layers: readonly GpuVqLayer[];
  /** 0: the per-projection linears account for the buffers. */
  readonly byteLength: number;
  destroy(): void;
}

/** One decoder projection on the GPU. */
export type GpuLinear = DenseGpuLinear | VqGpuLinear | VqStackGpuLinear;

/** Where a VQ layer is dequantized before a prefill GEMM: a buffer large enough for every VQ layer. */
export interface DequantScratch {
  readonly buffer: GPUBuffer;
  readonly format: WeightFormat;
}

/**
 * Size and format of the dequantization scratch for `linears`: the largest packed layer's weight in f32, or in f16
 * where f32 would not fit one binding (f32 keeps prefill bit-compatible with decode's f32 sums). 0 bytes without
 * packed layers.
 */
export function planDequantScratch(device: GPUDevice, linears: Iterable<GpuLinear>): { readonly bytes: number; readonly format: WeightFormat } {
  let bytes = 0;
  for (const linear of linears) if (linear.kind === 'vq') bytes = Math.max(bytes, vqDequantByteLength(linear.layer, 'f32'));
  return bytes <= device.limits.maxStorageBufferBindingSize ? { bytes, format: 'f32' } : { bytes: bytes / 2, format: 'f16' };
}

/** What {@link recordLinear} needs besides the buffers. */
export interface LinearRecordContext {
  readonly vqGemvOptions?: VqGemvOptions;
  /** The shared dequantization scratch, allocated on first use. */
  readonly dequantScratch: () => DequantScratch;
}

/**
 * Whether {@link recordLinear} can add `residual` through the kernel's bias input: one token (the bias is
 * broadcast over tokens) and no bias of the projection's own.
 */
export function canFoldResidual(linear: GpuLinear, tokens: number): boolean {
  if (tokens !== 1 || linear.kind === 'vq-stack') return false;
  return linear.kind === 'dense' ? linear.bias === undefined : linear.layer.bias === undefined;
}

/** What {@link recordLinear} may fold into a projection besides `y = x · Wᵀ (+ bias)`. */
export interface LinearExtras {
  /** `[outFeatures]` f32 added to y (the residual stream); only where {@link canFoldResidual} holds. */
  readonly residual?: GPUBuffer;
  /** x is `[gate | up]` with up this many floats after gate, read as `silu(gate) · up`; see {@link canFoldSwiglu}. */
  readonly swigluUpOffset?: number;
  /** x is the residual stream, RMS-normalized (without gain) by the kernel; see {@link canFoldRmsNorm}. */
  readonly normalizeEpsilon?: number;
}

/**
 * Whether {@link recordLinear} can apply an RMSNorm without gain to its input itself (the gain folded into the
 * layer, see `foldNormGain`): packed projections whose workgroups see whole rows, up to 8 tokens.
 */
export function canFoldRmsNorm(linear: GpuLinear, tokens: number): boolean {
  if (tokens > maxVqGemvTokens) return false;
  if (linear.kind === 'vq-stack') return vqGemvCoversRows(linear.layers);
  return linear.kind === 'vq' && vqGemvCoversRows(linear.layer);
}

/**
 * Whether {@link recordLinear} can read `silu(gate) · up` from a `[gate | up]` input itself (the fused VQ-GEMV
 * does, for up to 8 tokens), so that the MLP skips its SwiGLU dispatch.
 */
export function canFoldSwiglu(linear: GpuLinear, tokens: number): boolean {
  return linear.kind === 'vq' && tokens <= maxVqGemvTokens;
}

/**
 * Records `y = x · Wᵀ (+ bias)` for `tokens` rows. Dense weights use the GEMV kernel up to `maxGemvTokens`
 * tokens and the tiled GEMM beyond. VQ layers use the fused VQ-GEMV up to `maxVqGemvTokens` tokens (decode:
 * only the packed indices and codebooks are read); beyond, they are dequantized into the shared scratch and
 * multiplied by the GEMM: one pass writing W costs about one dense GEMV and is shared by the whole window,
 * whereas VQ-GEMV in 8-token chunks would decode every index `tokens / 8` times and add three dispatches per
 * chunk.
 *
 * With `residual` (see {@link canFoldResidual}) the decoder's residual add rides on the bias input,
 * `y = x · Wᵀ + residual`, which saves the add's dispatch on every decoded token.
 *
 * @param x - `[tokens, inFeatures]` f32.
 * @param y - `[tokens, outFeatures]` f32, not overlapping x or residual.
 * @param extras - the residual add, SwiGLU or RMSNorm folded into the projection (decode only).
 */
export async function recordLinear(
  device: GPUDevice,
  linear: GpuLinear,
  x: BufferBinding,
  y: BufferBinding,
  tokens: number,
  context: LinearRecordContext,
  extras: LinearExtras = {},
): Promise<KernelDispatch> {
  const { residual, swigluUpOffset, normalizeEpsilon } = extras;
  if (residual && !canFoldResidual(linear, tokens)) throw new RangeError('recordLinear: a residual needs one token and a projection without bias');
  if (swigluUpOffset !== undefined && !canFoldSwiglu(linear, tokens)) throw new RangeError('recordLinear: a SwiGLU input needs a packed projection and at most 8 tokens');
  if (normalizeEpsilon !== undefined && !canFoldRmsNorm(linear, tokens)) {
    throw new RangeError('recordLinear: normalizing the input needs packed projections with one group and no outliers, and at most 8 tokens');
  }
  const normalizeInput = normalizeEpsilon === undefined ? undefined : { epsilon: normalizeEpsilon };
  if (linear.kind === 'dense') {
    const buffers = { x, y, weights: linear.weights, bias: residual ?? linear.bias };
    return tokens <= maxGemvTokens ? createGemvDispatch(device, buffers, { tokens }) : createGemmDispatch(device, buffers, { tokens });
  }
  if (linear.kind === 'vq-stack') {
    if (tokens > maxVqGemvTokens) throw new RangeError(`recordLinear: a stacked VQ projection runs up to ${maxVqGemvTokens} tokens (got ${tokens})`);
    return createVqGemvDispatch(device, linear.layers, { x, y }, { tokens, normalizeInput }, context.vqGemvOptions);
  }
  if (tokens <= maxVqGemvTokens) {
    const layer = residual ? withBias(linear.layer, residual) : linear.layer;
    return createVqGemvDispatch(device, layer, { x, y }, { tokens, swigluUpOffset, normalizeInput }, context.vqGemvOptions);
  }
  const scratch = context.dequantScratch();
  const dequant = await createVqDequantDispatch(device, linear.layer, scratch.buffer, { format: scratch.format });
  const weights = describeWeights(device, scratch.buffer, { rows: linear.outFeatures, cols: linear.inFeatures, format: scratch.format });
  const gemm = await createGemmDispatch(device, { x, y, weights, bias: linear.layer.bias }, { tokens });
  return new DispatchSequence('vq-dequant-gemm', [dequant, gemm]);
}

/** A view of `layer` whose bias input is `bias` (owning no buffers: destroying it frees nothing). */
function withBias(layer: GpuVqLayer, bias: GPUBuffer): GpuVqLayer {
  return new GpuVqLayer(
    {
      config: layer.config,
      layout: layer.layout,
      indexLayout: layer.indexLayout,
      indices: layer.indices,
      centroids: layer.centroids,
      centroidFormat: layer.centroidFormat,
      centroidStride: layer.centroidStride,
      residualCentroids: layer.residualCentroids,
      residualFormat: layer.residualFormat,
      residualStride: layer.residualStride,
      outlierIndices: layer.outlierIndices,
      outlierRowWords: layer.outlierRowWords,
      outlierCentroids: layer.outlierCentroids,
      outlierFormat: layer.outlierFormat,
      outlierStride: layer.outlierStride,
      perm: layer.perm,
      inversePerm: layer.inversePerm,
      norm: layer.norm,
      bias,
      byteLength: 0,
    },
    [],
  );
}
