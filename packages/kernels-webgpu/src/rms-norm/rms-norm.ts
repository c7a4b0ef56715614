import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray, assertCount } from '../validate';
import { rmsNormWgsl } from './rms-norm.wgsl';

const label = 'rms-norm';
const workgroupSize = 256;

/** Buffers of {@link createRmsNormDispatch}: x and y `[rows, cols]` f32 (distinct), weight `[cols]` f32. */
export interface RmsNormBuffers {
  readonly x: BufferBinding;
  readonly weight: BufferBinding;
  readonly y: BufferBinding;
}

/** Shape of {@link createRmsNormDispatch}. */
export interface RmsNormShape {
  readonly rows: number;
  readonly cols: number;
  /** Added to the mean square before the square root. Default 1e-5 (Llama 2). */
  readonly epsilon?: number;
}

/**
 * Records RMSNorm over `rows` rows of `cols` f32 values: `y = x / sqrt(mean(x²) + epsilon) · weight`.
 *
 * @throws {RangeError} when a size is not a positive integer, epsilon is negative, or the grid is too large.
 */
export async function createRmsNormDispatch(device: GPUDevice, buffers: RmsNormBuffers, shape: RmsNormShape): Promise<KernelDispatch> {
  const fn = 'createRmsNormDispatch';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  const epsilon = shape.epsilon ?? 1e-5;
  if (!(epsilon >= 0)) throw new RangeError(`${fn}: shape.epsilon must be ≥ 0 (got ${epsilon})`);
  const pipeline = await getComputePipeline(device, { label, code: rmsNormWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', rows], ['u32', cols], ['f32', epsilon]]));
  return new ComputeStep(device, label, pipeline, [buffers.x, buffers.weight, buffers.y, params], flatGrid(fn, device, rows), [params]);
}

/**
 * RMSNorm on the GPU (one-shot).
 *
 * @param x - `[rows, cols]` f32.
 * @param weight - `[cols]` f32.
 * @returns `[rows, cols]` f32.
 */
export async function rmsNorm(device: GPUDevice, x: Float32Array, weight: Float32Array, shape: RmsNormShape): Promise<Float32Array> {
  assertArray('rmsNorm', 'x', x, Float32Array, shape.rows * shape.cols, '[rows, cols]');
  assertArray('rmsNorm', 'weight', weight, Float32Array, shape.cols, '[cols]');
  const [y] = await runKernel(device, label, [x, weight], [x.byteLength], ([xBuffer, weightBuffer], [yBuffer]) =>
    createRmsNormDispatch(device, { x: xBuffer, weight: weightBuffer, y: yBuffer }, shape),
  );
  return new Float32Array(y);
}
