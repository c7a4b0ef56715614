import { ComputeStep, checkWorkgroups, getComputePipeline } from '@vptq/kernels-webgpu/authoring';
import type { BufferBinding, KernelDispatch } from '@vptq/kernels-webgpu';

import { kvAppendWgsl } from './kv-append.wgsl';

const label = 'kv-append';
const workgroupSize = 256;

/** Buffers of {@link createKvAppendDispatch}. */
export interface KvAppendBuffers {
  /** `[tokens, width]` f32 keys of the window (RoPE applied). */
  readonly keys: BufferBinding;
  /** `[tokens, width]` f32 values of the window. */
  readonly values: BufferBinding;
  /** `[capacity, width]` f32 key cache of one layer. */
  readonly keyCache: BufferBinding;
  /** `[capacity, width]` f32 value cache of one layer. */
  readonly valueCache: BufferBinding;
  /** Uniform `{ tokens: u32, width: u32 }` (16 bytes), shared by the layers of one recorded window size. */
  readonly shape: GPUBuffer;
  /** Uniform `{ position: u32 }` (16 bytes), shared by every dispatch and rewritten per forward pass. */
  readonly state: GPUBuffer;
}

/**
 * Records the copy of `tokens × width` keys and values into cache rows `position …` (see {@link kvAppendWgsl}).
 * The uniforms belong to the caller, so one `writeBuffer` of `state` moves every layer to the next position.
 *
 * @throws {RangeError} when `tokens · width` is not a positive integer or the grid exceeds the device limit.
 */
export async function createKvAppendDispatch(device: GPUDevice, buffers: KvAppendBuffers, tokens: number, width: number): Promise<KernelDispatch> {
  const fn = 'createKvAppendDispatch';
  const count = tokens * width;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`${fn}: tokens × width must be a positive integer (got ${tokens} × ${width})`);
  const pipeline = await getComputePipeline(device, { label, code: kvAppendWgsl, constants: { workgroupSize } });
  const groups = Math.ceil(count / workgroupSize);
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(groups / limit);
  const grid = checkWorkgroups(fn, device, Math.ceil(groups / y), y);
  return new ComputeStep(
    device,
    label,
    pipeline,
    [buffers.keys, buffers.values, buffers.keyCache, buffers.valueCache, buffers.shape, buffers.state],
    grid,
  );
}
