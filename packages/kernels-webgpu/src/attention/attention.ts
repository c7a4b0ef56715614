import { createStorageBuffer, createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray, assertCount } from '../validate';
import { resolveAttentionShape } from './attention-cpu';
import type { AttentionShape } from './attention-cpu';
import { attentionCombineWgsl } from './attention-combine.wgsl';
import { attentionWgsl } from './attention.wgsl';
import { attentionChunkKeys, maxAttentionSplits, planAttentionSplits } from './plan-attention-splits';

const label = 'attention';
const combineLabel = 'attention-combine';
const workgroupSize = attentionChunkKeys;
const maxDimsPerInvocation = 4;

/** Buffers of {@link createAttentionDispatch} (all f32 unless noted). */
export interface AttentionBuffers {
  /** `[tokens, heads, headDim]`, RoPE already applied. */
  readonly query: BufferBinding;
  /** `[capacity, kvHeads, headDim]` key cache whose rows up to position + tokens − 1 are written. */
  readonly keys: BufferBinding;
  /** `[capacity, kvHeads, headDim]` value cache, likewise. */
  readonly values: BufferBinding;
  /** `[tokens, heads, headDim]`. */
  readonly output: BufferBinding;
  /**
   * Uniform `{ position: u32 }` (16 bytes): the absolute position of the first query, owned by the caller and
   * shared by every position-dependent dispatch of a forward pass (one `writeBuffer` per pass moves them all).
   */
  readonly position: GPUBuffer;
  /**
   * Scratch of at least {@link attentionPartialsByteLength} bytes for the split partials, which the layers of a
   * model can share (their dispatches run one after another). Default: the dispatch allocates its own.
   */
  readonly partials?: GPUBuffer;
}

/** Options of {@link createAttentionDispatch}. */
export interface AttentionOptions {
  /**
   * Splits of the KV cache per (head, token), 1 … 64: 1 is one workgroup per (head, token) writing the output,
   * more add a combine dispatch (see `attentionWgsl`). Default {@link planAttentionSplits} for the cache's capacity.
   */
  readonly splits?: number;
}

/** Bytes of the split partials of `splits` splits: `[tokens, heads, splits, headDim + 2]` f32. */
export function attentionPartialsByteLength(shape: { readonly tokens: number; readonly heads: number; readonly headDim: number }, splits: number): number {
  return shape.tokens * shape.heads * splits * (shape.headDim + 2) * 4;
}

/**
 * Records causal GQA attention of `tokens` queries over the KV cache (see `attentionWgsl`), at the position held
 * in `buffers.position` (`shape.position` is ignored), with `shape.window` a sliding window. The caller writes
 * this call's keys and values into the caches first (e.g. with the fused RoPE + KV append).
 *
 * @throws {RangeError} when a size is invalid, heads is not a multiple of kvHeads, headDim exceeds 256, the
 *   splits are outside 1 … 64, the partials buffer is too small, or the grid exceeds the device limit.
 */
export async function createAttentionDispatch(
  device: GPUDevice,
  buffers: AttentionBuffers,
  shape: AttentionShape,
  options: AttentionOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createAttentionDispatch';
  const sizes = resolveAttentionShape(fn, shape);
  const maxHeadDim = workgroupSize * maxDimsPerInvocation;
  if (sizes.headDim > maxHeadDim) {
    throw new RangeError(`${fn}: shape.headDim must be at most ${maxHeadDim} (got ${sizes.headDim})`);
  }
  const rowBytes = sizes.kvHeads * sizes.headDim * 4;
  const keysBytes = 'buffer' in buffers.keys ? (buffers.keys.size ?? buffers.keys.buffer.size - (buffers.keys.offset ?? 0)) : buffers.keys.size;
  const capacity = Math.max(1, Math.floor(keysBytes / rowBytes));
  const splits = assertCount(fn, 'options.splits', options.splits ?? planAttentionSplits({ tokens: sizes.tokens, heads: sizes.heads, capacity }), 1, maxAttentionSplits);
  const params = createUniformBuffer(
    device,
    label,
    packParams([
      ['u32', sizes.tokens],
      ['u32', sizes.heads],
      ['u32', sizes.kvHeads],
      ['u32', sizes.headDim],
      ['f32', sizes.scale],
      ['u32', sizes.window],
      ['u32', splits],
    ]),
  );
  const owned: GPUBuffer[] = [params];
  try {
    // The vec4 view needs whole vec4s per head row and a 16-byte aligned binding.
    const keysOffset = 'buffer' in buffers.keys ? (buffers.keys.offset ?? 0) : 0;
    const vectorKeys = sizes.headDim % 4 === 0 && keysOffset % 16 === 0;
    const pipeline = await getComputePipeline(device, { label: vectorKeys ? `${label}/vec4` : label, code: attentionWgsl, constants: { workgroupSize, vectorKeys } });
    const grid = checkWorkgroups(fn, device, sizes.heads, sizes.tokens, splits);
    if (splits === 1) {
      const bindings = [buffers.query, buffers.keys, buffers.values, buffers.output, getPlaceholderBuffer(device), params, buffers.position, buffers.keys];
      return new ComputeStep(device, label, pipeline, bindings, grid, owned);
    }
    const partialBytes = attentionPartialsByteLength(sizes, splits);
    if (buffers.partials && buffers.partials.size < partialBytes) {
      throw new RangeError(`${fn}: buffers.partials must hold ${partialBytes} bytes for ${splits} splits (got ${buffers.partials.size})`);
    }
    const partials = buffers.partials ?? createStorageBuffer(device, `${label}/partials`, partialBytes);
    if (!buffers.partials) owned.push(partials);
    const combine = await getComputePipeline(device, { label: combineLabel, code: attentionCombineWgsl, constants: { workgroupSize, chunkKeys: attentionChunkKeys } });
    // The output binding of the split pass is unused: the placeholder keeps it apart from the partials.
    const partialStep = new ComputeStep(device, label, pipeline, [buffers.query, buffers.keys, buffers.values, getPlaceholderBuffer(device), partials, params, buffers.position, buffers.keys], grid);
    const combineStep = new ComputeStep(device, combineLabel, combine, [partials, buffers.output, params, buffers.position], checkWorkgroups(fn, device, sizes.heads, sizes.tokens));
    return new DispatchSequence(label, [partialStep, combineStep], owned);
  } catch (error) {
    for (const buffer of owned) buffer.destroy();
    throw error;
  }
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
  options: AttentionOptions = {},
): Promise<Float32Array> {
  const sizes = resolveAttentionShape('attention', shape);
  assertArray('attention', 'query', query, Float32Array, sizes.tokens * sizes.heads * sizes.headDim, '[tokens, heads, headDim]');
  const rowLength = sizes.kvHeads * sizes.headDim;
  if (keys.length < (sizes.position + sizes.tokens) * rowLength || keys.length % rowLength !== 0 || values.length !== keys.length) {
    throw new RangeError(
      `attention: keys and values must be [capacity, kvHeads, headDim] with capacity ≥ ${sizes.position + sizes.tokens} (got ${keys.length} and ${values.length} elements)`,
    );
  }
  const position = createUniformBuffer(device, label, new Uint32Array([sizes.position, 0, 0, 0]).buffer);
  try {
    const [output] = await runKernel(device, label, [query, keys, values], [query.byteLength], ([q, k, v], [out]) =>
      createAttentionDispatch(device, { query: q, keys: { buffer: k, offset: 0, size: keys.byteLength }, values: v, output: out, position }, shape, options),
    );
    return new Float32Array(output);
  } finally {
    position.destroy();
  }
}
