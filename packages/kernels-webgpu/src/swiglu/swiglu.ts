import { createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups, flatGrid } from '../dispatch';
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
 * RMS normalization applied inside {@link createSwigluDispatch}: gate and up are `[tokens, width]` and each row is
 * scaled by the inverse RMS of the token's `[hidden]` row of `stream` (see `swigluWgsl`).
 */
export interface SwigluNormalize {
  /** `[tokens, hidden]` f32 residual stream the gate/up projections read un-normalized. */
  readonly stream: BufferBinding;
  readonly tokens: number;
  readonly hidden: number;
  readonly epsilon: number;
}

/**
 * Records `output[i] = silu(gate[i]) · up[i]` over `count` f32 elements (the Llama MLP activation), with gate and
 * up scaled by their token's inverse RMS first when `normalize` is given (count = tokens · width).
 *
 * @throws {RangeError} when `count` is not a positive integer, not a multiple of `normalize.tokens`, or the grid
 *   exceeds the device limit.
 */
export async function createSwigluDispatch(device: GPUDevice, buffers: SwigluBuffers, count: number, normalize?: SwigluNormalize): Promise<KernelDispatch> {
  const fn = 'createSwigluDispatch';
  assertCount(fn, 'count', count);
  const tokens = normalize ? assertCount(fn, 'normalize.tokens', normalize.tokens) : 1;
  if (count % tokens !== 0) throw new RangeError(`${fn}: count must be a multiple of normalize.tokens (got ${count} and ${tokens})`);
  if (normalize) {
    assertCount(fn, 'normalize.hidden', normalize.hidden);
    if (!(normalize.epsilon >= 0)) throw new RangeError(`${fn}: normalize.epsilon must be ≥ 0 (got ${normalize.epsilon})`);
  }
  const width = count / tokens;
  const pipeline = await getComputePipeline(device, {
    label: normalize ? `${label}/normalized` : label,
    code: swigluWgsl,
    constants: { workgroupSize, normalizeInput: normalize !== undefined },
  });
  const params = createUniformBuffer(
    device,
    label,
    packParams([
      ['u32', count],
      ['u32', width],
      ['u32', normalize?.hidden ?? 0],
      ['f32', normalize?.epsilon ?? 0],
    ]),
  );
  const grid = normalize ? checkWorkgroups(fn, device, Math.ceil(width / workgroupSize), tokens) : flatGrid(fn, device, Math.ceil(count / workgroupSize));
  const stream = normalize?.stream ?? getPlaceholderBuffer(device);
  return new ComputeStep(device, label, pipeline, [buffers.gate, buffers.up, buffers.output, stream, params], grid, [params]);
}

/**
 * `silu(gate) · up` on the GPU, element-wise (one-shot: uploads, runs, reads back).
 *
 * @param gate - `[count]` f32.
 * @param up - `[count]` f32.
 * @param normalize - scale gate and up by the inverse RMS of each token's `[hidden]` row of `stream` first.
 * @returns `[count]` f32.
 * @throws {RangeError} when the lengths differ or are zero.
 */
export async function swiglu(
  device: GPUDevice,
  gate: Float32Array,
  up: Float32Array,
  normalize?: { readonly stream: Float32Array; readonly tokens: number; readonly hidden: number; readonly epsilon: number },
): Promise<Float32Array> {
  if (gate.length !== up.length) {
    throw new RangeError(`swiglu: gate and up must have the same length (got ${gate.length} and ${up.length})`);
  }
  const inputs = normalize ? [gate, up, normalize.stream] : [gate, up];
  const [output] = await runKernel(device, label, inputs, [gate.byteLength], ([gateBuffer, upBuffer, streamBuffer], [outputBuffer]) =>
    createSwigluDispatch(device, { gate: gateBuffer, up: upBuffer, output: outputBuffer }, gate.length, normalize && { ...normalize, stream: streamBuffer }),
  );
  return new Float32Array(output);
}
