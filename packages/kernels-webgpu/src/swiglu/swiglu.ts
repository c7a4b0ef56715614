import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { swigluWgsl } from './swiglu.wgsl';

const label = 'swiglu';
const workgroupSize = 256;

/** Buffers of {@link createSwigluDispatch}: `gate`, `up` and `output` are `[count]` f32. */
export interface SwigluBuffers {
  readonly gate: BufferBinding;
  readonly up: BufferBinding;
  readonly output: BufferBinding;
}

/**
 * Records `output[i] = silu(gate[i]) · up[i]` over `count` f32 elements (the Llama MLP activation).
 *
 * @throws {RangeError} when `count` is not a positive integer or the grid exceeds the device limit.
 */
export async function createSwigluDispatch(device: GPUDevice, buffers: SwigluBuffers, count: number): Promise<KernelDispatch> {
  assertCount('createSwigluDispatch', 'count', count);
  const pipeline = await getComputePipeline(device, { label, code: swigluWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', count]]));
  const grid = flatGrid('createSwigluDispatch', device, Math.ceil(count / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.gate, buffers.up, buffers.output, params], grid, [params]);
}

/**
 * `silu(gate) · up` on the GPU, element-wise (one-shot: uploads, runs, reads back).
 *
 * @param gate - `[count]` f32.
 * @param up - `[count]` f32.
 * @returns `[count]` f32.
 * @throws {RangeError} when the lengths differ or are zero.
 */
export async function swiglu(device: GPUDevice, gate: Float32Array, up: Float32Array): Promise<Float32Array> {
  if (gate.length !== up.length) {
    throw new RangeError(`swiglu: gate and up must have the same length (got ${gate.length} and ${up.length})`);
  }
  const [output] = await runKernel(device, label, [gate, up], [gate.byteLength], ([gateBuffer, upBuffer], [outputBuffer]) =>
    createSwigluDispatch(device, { gate: gateBuffer, up: upBuffer, output: outputBuffer }, gate.length),
  );
  return new Float32Array(output);
}
