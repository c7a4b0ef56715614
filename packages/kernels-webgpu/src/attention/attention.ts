import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray } from '../validate';
import { resolveAttentionShape } from './attention-cpu';
import type { AttentionShape } from './attention-cpu';
import { attentionWgsl } from './attention.wgsl';

const label = 'attention';
const workgroupSize = 64;
const maxDimsPerInvocation = 4;

/** Buffers of {@link createAttentionDispatch} (all f32). */
export interface AttentionBuffers {
  /** `[tokens, heads, headDim]`, RoPE already applied. */
  readonly query: BufferBinding;
  /** `[capacity, kvHeads, headDim]` key cache whose rows up to position + tokens − 1 are written. */
  readonly keys: BufferBinding;
  /** `[capacity, kvHeads, headDim]` value cache, likewise. */
  readonly values: BufferBinding;
  /** `[tokens, heads, headDim]`. */
  readonly output: BufferBinding;
}

/** A recorded attention whose first query position can change between submits (decode). */
export interface AttentionDispatch extends KernelDispatch {
  /** Sets the absolute position of the first query for the next submit (`queue.writeBuffer`). */
  setPosition(position: number): void;
}

/**
 * Records causal GQA attention of `tokens` queries over the KV cache (see {@link attentionWgsl}), with
 * `shape.window` a sliding window that stays with the dispatch while the position changes. The caller writes this call's keys and values into the caches first (e.g. with `copyBufferToBuffer`).
 *
 * @throws {RangeError} when a size is invalid, heads is not a multiple of kvHeads, headDim exceeds 256, or the
 *   grid exceeds the device limit.
 */
export async function createAttentionDispatch(
  device: GPUDevice,
  buffers: AttentionBuffers,
  shape: AttentionShape,
): Promise<AttentionDispatch> {
  const fn = 'createAttentionDispatch';
  const sizes = resolveAttentionShape(fn, shape);
  const maxHeadDim = workgroupSize * maxDimsPerInvocation;
  if (sizes.headDim > maxHeadDim) {
    throw new RangeError(`${fn}: shape.headDim must be at most ${maxHeadDim} (got ${sizes.headDim})`);
  }
  const fields = (position: number) =>
    packParams([
      ['u32', sizes.tokens],
      ['u32', sizes.heads],
      ['u32', sizes.kvHeads],
      ['u32', sizes.headDim],
      ['u32', position],
      ['f32', sizes.scale],
      ['u32', sizes.window],
    ]);
  const params = createUniformBuffer(device, label, fields(sizes.position));
  const pipeline = await getComputePipeline(device, { label, code: attentionWgsl, constants: { workgroupSize } });
  const grid = checkWorkgroups(fn, device, sizes.heads, sizes.tokens);
  const step = new ComputeStep(device, label, pipeline, [buffers.query, buffers.keys, buffers.values, buffers.output, params], grid, [params]);
  return {
    label,
    encode: (pass) => step.encode(pass),
    destroy: () => step.destroy(),
    setPosition(position: number) {
      resolveAttentionShape(fn, { ...shape, position });
      device.queue.writeBuffer(params, 0, fields(position));
    },
  };
}

/**
 * Causal GQA attention on the GPU (one-shot), sliding-window with `shape.window`.
 *
 * @param query - `[tokens, heads, headDim]` f32.
 * @param keys - `[capacity, kvHeads, headDim]` f32, capacity ≥ position + tokens.
 * @param values - same shape as keys.
 * @returns `[tokens, heads, headDim]` f32.
 */
export async function attention(
  device: GPUDevice,
  query: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  shape: AttentionShape,
): Promise<Float32Array> {
  const sizes = resolveAttentionShape('attention', shape);
  assertArray('attention', 'query', query, Float32Array, sizes.tokens * sizes.heads * sizes.headDim, '[tokens, heads, headDim]');
  const rowLength = sizes.kvHeads * sizes.headDim;
  if (keys.length < (sizes.position + sizes.tokens) * rowLength || keys.length % rowLength !== 0 || values.length !== keys.length) {
    throw new RangeError(
      `attention: keys and values must be [capacity, kvHeads, headDim] with capacity ≥ ${sizes.position + sizes.tokens} (got ${keys.length} and ${values.length} elements)`,
    );
  }
  const [output] = await runKernel(device, label, [query, keys, values], [query.byteLength], ([q, k, v], [out]) =>
    createAttentionDispatch(device, { query: q, keys: k, values: v, output: out }, shape),
  );
  return new Float32Array(output);
}
