import { createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import { ComputeStep, DispatchSequence, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { uploadWeights } from '../gpu-weights';
import type { UploadWeightsOptions, WeightFormat } from '../gpu-weights';
import type { GemvBuffers } from '../gemv/gemv';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray, assertCount } from '../validate';
import { gemmWgsl } from './gemm.wgsl';

const label = 'gemm';
const tile = 64;

/** Shape of {@link createGemmDispatch}. */
export interface GemmShape {
  /** Tokens (rows of x and y), ≥ 1. */
  readonly tokens: number;
  /** Elements between tokens in x. Default `weights.cols`. */
  readonly xStride?: number;
  /** Elements between tokens in y. Default `weights.rows`. */
  readonly yStride?: number;
}

/**
 * Records `y = x · Wᵀ + bias` for many tokens (prefill), W in f32 or f16 (read as u32 pairs), one
 * dispatch per weight window. Buffers as for GEMV: x `[tokens, xStride]` f32, y `[tokens, yStride]` f32.
 *
 * @throws {RangeError} when a stride is too small or the grid exceeds the device limit.
 */
export async function createGemmDispatch(device: GPUDevice, buffers: GemvBuffers, shape: GemmShape): Promise<KernelDispatch> {
  const fn = 'createGemmDispatch';
  const { weights } = buffers;
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const xStride = assertCount(fn, 'shape.xStride', shape.xStride ?? weights.cols, weights.cols);
  const yStride = assertCount(fn, 'shape.yStride', shape.yStride ?? weights.rows, weights.rows);
  const pipeline = await getComputePipeline(device, {
    label,
    code: gemmWgsl,
    constants: { f16Weights: weights.format === 'f16', hasBias: buffers.bias !== undefined },
  });
  const bias = buffers.bias ?? getPlaceholderBuffer(device);
  const steps = weights.windows.map((window) => {
    const grid = checkWorkgroups(fn, device, Math.ceil(window.rows / tile), Math.ceil(tokens / tile));
    const params = createUniformBuffer(
      device,
      label,
      packParams([
        ['u32', tokens],
        ['u32', window.rows],
        ['u32', weights.cols],
        ['u32', weights.rowStride],
        ['u32', window.rowStart],
        ['u32', xStride],
        ['u32', yStride],
      ]),
    );
    return new ComputeStep(device, label, pipeline, [buffers.x, window.binding, bias, buffers.y, params], grid, [params]);
  });
  return new DispatchSequence(label, steps);
}

/**
 * `x · Wᵀ + bias` on the GPU for any number of tokens (one-shot: uploads W, runs, reads back).
 *
 * @param x - `[tokens, cols]` f32.
 * @param weights - `[rows, cols]`: `Float32Array` for `'f32'`, `Uint16Array` f16 bit patterns for `'f16'`.
 * @param shape - `tokens`, `rows`, `cols`, `format`.
 * @param options - `bias` (`[rows]` f32) and upload limits (to force row windows).
 * @returns `[tokens, rows]` f32.
 */
export async function gemm(
  device: GPUDevice,
  x: Float32Array,
  weights: Float32Array | Uint16Array,
  shape: { readonly tokens: number; readonly rows: number; readonly cols: number; readonly format: WeightFormat },
  options: UploadWeightsOptions & { readonly bias?: Float32Array } = {},
): Promise<Float32Array> {
  assertArray('gemm', 'x', x, Float32Array, shape.tokens * shape.cols, '[tokens, cols]');
  if (options.bias !== undefined) assertArray('gemm', 'bias', options.bias, Float32Array, shape.rows, '[rows]');
  const uploaded = uploadWeights(device, weights, shape, { ...options, label });
  try {
    const inputs: ArrayBufferView[] = options.bias ? [x, options.bias] : [x];
    const [y] = await runKernel(device, label, inputs, [shape.tokens * shape.rows * 4], ([xBuffer, biasBuffer], [yBuffer]) =>
      createGemmDispatch(device, { x: xBuffer, weights: uploaded, bias: biasBuffer, y: yBuffer }, { tokens: shape.tokens }),
    );
    return new Float32Array(y);
  } finally {
    uploaded.destroy();
  }
}
