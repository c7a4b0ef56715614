import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { argmaxWgsl } from './argmax.wgsl';

const label = 'argmax';
const workgroupSize = 256;

/** Buffers of {@link createArgmaxDispatch}: logits `[rows, cols]` f32, indices `[rows]` u32. */
export interface ArgmaxBuffers {
  readonly logits: BufferBinding;
  readonly indices: BufferBinding;
}

/**
 * Records the per-row argmax (ties to the lowest index), so greedy decoding reads back 4 bytes per token
 * instead of the whole vocabulary.
 *
 * @throws {RangeError} when a size is not a positive integer or the grid exceeds the device limit.
 */
export async function createArgmaxDispatch(
  device: GPUDevice,
  buffers: ArgmaxBuffers,
  shape: { readonly rows: number; readonly cols: number },
): Promise<KernelDispatch> {
  const fn = 'createArgmaxDispatch';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols, 1, 0xfffffffe);
  const pipeline = await getComputePipeline(device, { label, code: argmaxWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', rows], ['u32', cols]]));
  return new ComputeStep(device, label, pipeline, [buffers.logits, buffers.indices, params], flatGrid(fn, device, rows), [params]);
}

/**
 * Per-row argmax on the GPU (one-shot).
 *
 * @param logits - `[rows, cols]` f32.
 * @returns `[rows]` u32 indices.
 */
export async function argmax(device: GPUDevice, logits: Float32Array, shape: { readonly rows: number; readonly cols: number }): Promise<Uint32Array> {
  if (logits.length !== shape.rows * shape.cols) {
    throw new RangeError(`argmax: logits must have rows × cols = ${shape.rows * shape.cols} elements (got ${logits.length})`);
  }
  const [indices] = await runKernel(device, label, [logits], [shape.rows * 4], ([logitsBuffer], [indicesBuffer]) =>
    createArgmaxDispatch(device, { logits: logitsBuffer, indices: indicesBuffer }, shape),
  );
  return new Uint32Array(indices);
}
