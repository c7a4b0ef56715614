import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { copyWgsl } from './copy.wgsl';

const label = 'copy';
const workgroupSize = 256;

/** Buffers of {@link createCopyDispatch}: `byteLength` bytes each. */
export interface CopyBuffers {
  readonly source: BufferBinding;
  readonly destination: BufferBinding;
}

/**
 * Records a shader copy of `byteLength` bytes (a multiple of 16) from `source` to `destination`. Used to
 * measure the device's achievable read + write bandwidth; `copyBufferToBuffer` is the faster way to copy.
 *
 * @throws {RangeError} when `byteLength` is not a positive multiple of 16 or the grid exceeds the device limit.
 */
export async function createCopyDispatch(device: GPUDevice, buffers: CopyBuffers, byteLength: number): Promise<KernelDispatch> {
  assertCount('createCopyDispatch', 'byteLength', byteLength);
  if (byteLength % 16 !== 0) {
    throw new RangeError(`createCopyDispatch: byteLength must be a multiple of 16 (got ${byteLength})`);
  }
  const count = byteLength / 16;
  const pipeline = await getComputePipeline(device, { label, code: copyWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', count]]));
  const grid = flatGrid('createCopyDispatch', device, Math.ceil(count / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.source, buffers.destination, params], grid, [params]);
}

/**
 * Copies `data` through the copy kernel and returns what arrived (one-shot; for tests and probes).
 *
 * @param data - any bytes; the length must be a positive multiple of 16.
 * @returns a copy of the bytes.
 * @throws {RangeError} when the length is not a positive multiple of 16.
 */
export async function copyThroughShader(device: GPUDevice, data: Uint8Array): Promise<Uint8Array> {
  const [output] = await runKernel(device, label, [data], [data.byteLength], ([source], [destination]) =>
    createCopyDispatch(device, { source, destination }, data.byteLength),
  );
  return new Uint8Array(output);
}
