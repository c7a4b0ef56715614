import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { addWgsl } from './add.wgsl';

const label = 'add';
const workgroupSize = 256;

/** Buffers of {@link createAddDispatch}: `[count]` f32 each; `accumulator` is updated in place. */
export interface AddBuffers {
  readonly addend: BufferBinding;
  readonly accumulator: BufferBinding;
}

/**
 * Records `accumulator[i] += addend[i]` over `count` f32 elements (the residual add). The two bindings must not
 * overlap: WebGPU forbids a range that is both read-only and writable in one dispatch.
 *
 * @throws {RangeError} when `count` is not a positive integer or the grid exceeds the device limit.
 */
export async function createAddDispatch(device: GPUDevice, buffers: AddBuffers, count: number): Promise<KernelDispatch> {
  assertCount('createAddDispatch', 'count', count);
  const pipeline = await getComputePipeline(device, { label, code: addWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', count]]));
  const grid = flatGrid('createAddDispatch', device, Math.ceil(count / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.addend, buffers.accumulator, params], grid, [params]);
}

/**
 * `accumulator + addend` on the GPU (one-shot).
 *
 * @param accumulator - `[count]` f32 (not modified; the GPU updates its own copy).
 * @param addend - `[count]` f32.
 * @returns `[count]` f32.
 * @throws {RangeError} when the lengths differ or are zero.
 */
export async function add(device: GPUDevice, accumulator: Float32Array, addend: Float32Array): Promise<Float32Array> {
  if (accumulator.length !== addend.length) {
    throw new RangeError(`add: accumulator and addend must have the same length (got ${accumulator.length} and ${addend.length})`);
  }
  const [output] = await runKernel(device, label, [addend], [accumulator], ([addendBuffer], [accumulatorBuffer]) =>
    createAddDispatch(device, { addend: addendBuffer, accumulator: accumulatorBuffer }, accumulator.length),
  );
  return new Float32Array(output);
}
