import { getPlaceholderBuffer, createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { uploadWeights } from '../gpu-weights';
import type { GpuWeights, UploadWeightsOptions, WeightFormat } from '../gpu-weights';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray, assertCount } from '../validate';
import { gemvSubgroupsWgsl, gemvWgsl } from './gemv.wgsl';

const label = 'gemv';

/** The most tokens one GEMV dispatch handles (each invocation keeps one f32 sum per token). */
export const maxGemvTokens = 8;

/** Buffers of {@link createGemvDispatch}. */
export interface GemvBuffers {
  /** `[tokens, xStride]` f32 activations. */
  readonly x: BufferBinding;
  /** `[outFeatures, inFeatures]` weights, from {@link uploadWeights}. */
  readonly weights: GpuWeights;
  /** Optional `[outFeatures]` f32 bias. */
  readonly bias?: BufferBinding;
  /** `[tokens, yStride]` f32 output. */
  readonly y: BufferBinding;
}

/** Shape of {@link createGemvDispatch}. */
export interface GemvShape {
  /** 1 ≤ tokens ≤ {@link maxGemvTokens}. */
  readonly tokens: number;
  /** Elements between tokens in x. Default `weights.cols`. */
  readonly xStride?: number;
  /** Elements between tokens in y. Default `weights.rows`. */
  readonly yStride?: number;
}

/** Tuning options of the GEMV kernel. */
export interface GemvOptions {
  /** Invocations per workgroup, a power of two. Default 256. */
  readonly workgroupSize?: number;
  /**
   * Output rows per workgroup: 1, 2, 4 or 8, more than 1 only for a single token (each x vector then serves
   * several rows). Default 4 for one token, else 1 (one token on an H200, 2026-12-07: 4 rows, 2 strides, 256
   * invocations reached 68%, 82% and 86% of copy bandwidth at 4096², 11008×4096 and 4096×11008, the best of the
   * configurations measured; 8 rows lost at 4096² and 4096×11008, BENCHMARKS.md).
   */
  readonly rowsPerWorkgroup?: number;
  /**
   * With several rows per workgroup: strides of the workgroup each invocation takes per iteration, loading
   * rowsPerWorkgroup × unroll weight vectors before using them. Default 2 for one token.
   * (`{ rowsPerWorkgroup: 4, unroll: 1, workgroupSize: 128 }` is the kernel before issue 10.)
   */
  readonly unroll?: number;
  /** Reduce with subgroup operations. Default: whether the device has the `subgroups` feature. */
  readonly useSubgroups?: boolean;
}

/**
 * Records `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]` for a few tokens (decode), with W in f32 or f16
 * (f16 is read as packed u32 pairs, so `shader-f16` is not required); one dispatch per weight window.
 *
 * @throws {RangeError} when tokens is outside 1..8, a stride is too small, or the grid exceeds the device limit.
 */
export async function createGemvDispatch(
  device: GPUDevice,
  buffers: GemvBuffers,
  shape: GemvShape,
  options: GemvOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createGemvDispatch';
  const { weights } = buffers;
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens, 1, maxGemvTokens);
  const xStride = assertCount(fn, 'shape.xStride', shape.xStride ?? weights.cols, weights.cols);
  const yStride = assertCount(fn, 'shape.yStride', shape.yStride ?? weights.rows, weights.rows);
  const rowsPerWorkgroup = options.rowsPerWorkgroup ?? (tokens === 1 ? 4 : 1);
  if (![1, 2, 4, 8].includes(rowsPerWorkgroup) || (rowsPerWorkgroup > 1 && tokens > 1)) {
    throw new RangeError(`${fn}: options.rowsPerWorkgroup must be 1, 2, 4 or 8, and 1 for several tokens (got ${rowsPerWorkgroup} for ${tokens} tokens)`);
  }
  const unroll = options.unroll ?? (rowsPerWorkgroup > 1 ? 2 : 1);
  if (!Number.isInteger(unroll) || unroll < 1 || unroll > 8) throw new RangeError(`${fn}: options.unroll must be an integer in 1..8 (got ${unroll})`);
  const workgroupSize = assertPowerOfTwo(fn, options.workgroupSize ?? 256, device);
  const useSubgroups = options.useSubgroups ?? device.features.has('subgroups');
  const pipeline = await getComputePipeline(device, {
    label: useSubgroups ? `${label}/subgroups` : label,
    code: useSubgroups ? gemvSubgroupsWgsl : gemvWgsl,
    constants: {
      workgroupSize,
      tokenCount: tokens,
      f16Weights: weights.format === 'f16',
      hasBias: buffers.bias !== undefined,
      alignedX: xStride % 4 === 0 && weights.cols === weights.rowStride && bindingOffset(buffers.x) % 16 === 0,
      rowsPerWorkgroup,
      unroll,
    },
  });
  const bias = buffers.bias ?? getPlaceholderBuffer(device);
  const vectorsPerRow = weights.rowStride / (weights.format === 'f16' ? 8 : 4);
  const steps = weights.windows.map((window) => {
    const params = createUniformBuffer(
      device,
      label,
      packParams([
        ['u32', window.rows],
        ['u32', weights.cols],
        ['u32', vectorsPerRow],
        ['u32', window.rowStart],
        ['u32', xStride],
        ['u32', yStride],
      ]),
    );
    const grid = flatGrid(fn, device, Math.ceil(window.rows / rowsPerWorkgroup));
    return new ComputeStep(device, label, pipeline, [buffers.x, window.binding, bias, buffers.y, params], grid, [params]);
  });
  return new DispatchSequence(label, steps);
}

/**
 * `x · Wᵀ + bias` for a few tokens on the GPU (one-shot: uploads W, runs, reads back).
 *
 * @param x - `[tokens, cols]` f32.
 * @param weights - `[rows, cols]`: `Float32Array` for `'f32'`, `Uint16Array` f16 bit patterns for `'f16'`.
 * @param shape - `rows`, `cols`, `format`, and `tokens` (default 1).
 * @param options - kernel tuning, `bias` (`[rows]` f32) and upload limits (to force row windows).
 * @returns `[tokens, rows]` f32.
 */
export async function gemv(
  device: GPUDevice,
  x: Float32Array,
  weights: Float32Array | Uint16Array,
  shape: { readonly rows: number; readonly cols: number; readonly format: WeightFormat; readonly tokens?: number },
  options: GemvOptions & UploadWeightsOptions & { readonly bias?: Float32Array } = {},
): Promise<Float32Array> {
  const tokens = shape.tokens ?? 1;
  assertArray('gemv', 'x', x, Float32Array, tokens * shape.cols, '[tokens, cols]');
  if (options.bias !== undefined) assertArray('gemv', 'bias', options.bias, Float32Array, shape.rows, '[rows]');
  const uploaded = uploadWeights(device, weights, shape, { ...options, label });
  try {
    const inputs: ArrayBufferView[] = options.bias ? [x, options.bias] : [x];
    const [y] = await runKernel(device, label, inputs, [tokens * shape.rows * 4], ([xBuffer, biasBuffer], [yBuffer]) =>
      createGemvDispatch(device, { x: xBuffer, weights: uploaded, bias: biasBuffer, y: yBuffer }, { tokens }, options),
    );
    return new Float32Array(y);
  } finally {
    uploaded.destroy();
  }
}

function bindingOffset(binding: BufferBinding): number {
  return 'buffer' in binding ? (binding.offset ?? 0) : 0;
}

function assertPowerOfTwo(fn: string, value: number, device: GPUDevice): number {
  const limit = device.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(value) || value < 1 || value > limit || (value & (value - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize must be a power of two ≤ ${limit} (got ${value})`);
  }
  return value;
}
