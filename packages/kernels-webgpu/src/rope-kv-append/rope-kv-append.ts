import { createBufferWithData, createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { resolveRopeFrequencies } from '../rope/rope-cpu';
import { resolveRopeKvAppendShape } from './rope-kv-append-cpu';
import type { RopeKvAppendShape } from './rope-kv-append-cpu';
import { ropeKvAppendWgsl } from './rope-kv-append.wgsl';

const label = 'rope-kv-append';
const workgroupSize = 256;

/** Buffers of {@link createRopeKvAppendDispatch} (all f32 unless noted). */
export interface RopeKvAppendBuffers {
  /** `[tokens, heads, headDim]` query projection output, rotated in place. */
  readonly query: BufferBinding;
  /** `[tokens, kvHeads, headDim]` key projection output (left as it is). May share a buffer with query. */
  readonly keys: BufferBinding;
  /** `[tokens, kvHeads, headDim]` value projection output. May share a buffer with query. */
  readonly values: BufferBinding;
  /** `[capacity, kvHeads, headDim]` key cache of one layer; rows position … position + tokens − 1 are written. */
  readonly keyCache: BufferBinding;
  /** `[capacity, kvHeads, headDim]` value cache of one layer. */
  readonly valueCache: BufferBinding;
  /**
   * Uniform `{ position: u32 }` (16 bytes): the absolute position of the first token, owned by the caller and
   * shared by every position-dependent dispatch of a forward pass, so one `writeBuffer` moves them all.
   */
  readonly position: GPUBuffer;
  /** `[tokens, hidden]` residual stream whose rows' inverse RMS scales q, k, v; required with `shape.normalize`. */
  readonly stream?: BufferBinding;
}

/**
 * Records RoPE of q and k and the append of the rotated keys and the values to the KV cache in one dispatch
 * (see {@link ropeKvAppendWgsl}); it replaces a RoPE dispatch and a KV-append dispatch per layer.
 *
 * @throws {RangeError} when a size is invalid, headDim is odd, the frequencies do not fit headDim, `stream` is
 *   missing with `shape.normalize`, or the grid exceeds the device limit.
 */
export async function createRopeKvAppendDispatch(device: GPUDevice, buffers: RopeKvAppendBuffers, shape: RopeKvAppendShape): Promise<KernelDispatch> {
  const fn = 'createRopeKvAppendDispatch';
  const { tokens, heads, kvHeads, headDim } = resolveRopeKvAppendShape(fn, shape);
  if (shape.normalize && !buffers.stream) throw new RangeError(`${fn}: shape.normalize needs buffers.stream`);
  const frequencies = createBufferWithData(device, label, resolveRopeFrequencies(fn, shape, headDim));
  const params = createUniformBuffer(
    device,
    label,
    packParams([
      ['u32', tokens],
      ['u32', heads],
      ['u32', kvHeads],
      ['u32', headDim],
      ['u32', (shape.layout ?? 'interleaved') === 'interleaved' ? 1 : 0],
      ['u32', shape.normalize ? 1 : 0],
      ['u32', shape.normalize?.hidden ?? 0],
      ['f32', shape.normalize?.epsilon ?? 0],
    ]),
  );
  const pipeline = await getComputePipeline(device, { label, code: ropeKvAppendWgsl, constants: { workgroupSize } });
  const items = ((heads + 2 * kvHeads) * headDim) / 2;
  const grid = checkWorkgroups(fn, device, Math.ceil(items / workgroupSize), tokens);
  const stream = buffers.stream ?? getPlaceholderBuffer(device);
  return new ComputeStep(
    device,
    label,
    pipeline,
    [frequencies, buffers.query, buffers.keys, buffers.values, buffers.keyCache, buffers.valueCache, stream, params, buffers.position],
    grid,
    [params, frequencies],
  );
}
