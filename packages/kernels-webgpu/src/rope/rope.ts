import { createBufferWithData, createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertArray, assertCount } from '../validate';
import { resolveRopeFrequencies } from './rope-cpu';
import type { RopeShape } from './rope-cpu';
import { ropeWgsl } from './rope.wgsl';

const label = 'rope';
const workgroupSize = 256;

/** A recorded RoPE whose start position can change between submits (decode). */
export interface RopeDispatch extends KernelDispatch {
  /**
   * Sets the position of the first token for the next submit (written with `queue.writeBuffer`, so every
   * encode in one submit sees the same value).
   */
  setPosition(position: number): void;
}

/**
 * Records RoPE applied in place to `values` (`[tokens, heads, headDim]` f32), positions `position + t`, at
 * `shape.inverseFrequencies` (uploaded once) or `θ^(−2i/headDim)`.
 *
 * @throws {RangeError} when a size is invalid, headDim is odd, the frequencies do not fit headDim or the grid is
 *   too large.
 */
export async function createRopeDispatch(
  device: GPUDevice,
  buffers: { readonly values: BufferBinding },
  shape: RopeShape,
  position = 0,
): Promise<RopeDispatch> {
  const fn = 'createRopeDispatch';
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const headDim = assertCount(fn, 'shape.headDim', shape.headDim, 2);
  const layout = shape.layout ?? 'interleaved';
  if (layout !== 'interleaved' && layout !== 'half') {
    throw new RangeError(`${fn}: shape.layout must be 'interleaved' or 'half' (got ${String(layout)})`);
  }
  if (headDim % 2 !== 0) throw new RangeError(`${fn}: shape.headDim must be even (got ${headDim})`);
  const frequencies = createBufferWithData(device, label, resolveRopeFrequencies(fn, shape, headDim));
  const fields = (start: number) =>
    packParams([
      ['u32', tokens],
      ['u32', heads],
      ['u32', headDim],
      ['u32', assertCount(fn, 'position', start, 0)],
      ['u32', layout === 'interleaved' ? 1 : 0],
    ]);
  const params = createUniformBuffer(device, label, fields(position));
  const pipeline = await getComputePipeline(device, { label, code: ropeWgsl, constants: { workgroupSize } });
  const grid = flatGrid(fn, device, Math.ceil((tokens * heads * headDim) / 2 / workgroupSize));
  const step = new ComputeStep(device, label, pipeline, [frequencies, buffers.values, params], grid, [params, frequencies]);
  return {
    label,
    encode: (pass) => step.encode(pass),
    destroy: () => step.destroy(),
    setPosition(start: number) {
      device.queue.writeBuffer(params, 0, fields(start));
    },
  };
}

/**
 * RoPE on the GPU (one-shot): a rotated copy of `values` (`[tokens, heads, headDim]` f32).
 */
export async function rope(device: GPUDevice, values: Float32Array, shape: RopeShape, position = 0): Promise<Float32Array> {
  assertArray('rope', 'values', values, Float32Array, shape.tokens * shape.heads * shape.headDim, '[tokens, heads, headDim]');
  const [out] = await runKernel(device, label, [], [values], (_inputs, [valuesBuffer]) =>
    createRopeDispatch(device, { values: valuesBuffer }, shape, position),
  );
  return new Float32Array(out);
}
