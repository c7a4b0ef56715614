import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { permuteTransposeWgsl } from './permute-transpose.wgsl';

const label = 'permute-transpose';
const workgroupSize = 256;

/** Buffers of {@link createPermuteTransposeDispatch}. */
export interface PermuteTransposeBuffers {
  /** `[rows, cols]` f32, row-major. */
  readonly weight: BufferBinding;
  /** `[cols]` u32: the column at each position. */
  readonly perm: BufferBinding;
  /** `[cols, rows]` f32 out: position p's column, contiguous. */
  readonly out: BufferBinding;
}

/**
 * Records the permuted transpose of a weight into the column loop's layout (see `permuteTransposeWgsl`): the
 * GPU twin of `toWorkingLayout(weight, perm, noneDead, undefined)`, bit for bit.
 *
 * @throws {RangeError} when a size is not a positive integer, rows·cols reaches 2³² or the grid exceeds the device limit.
 */
export async function createPermuteTransposeDispatch(device: GPUDevice, buffers: PermuteTransposeBuffers, shape: { readonly rows: number; readonly cols: number }): Promise<KernelDispatch> {
  const fn = 'createPermuteTransposeDispatch';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  if (rows * cols > 0xffffffff) throw new RangeError(`${fn}: rows × cols must stay below 2^32 (got ${rows} × ${cols})`);
  const pipeline = await getComputePipeline(device, { label, code: permuteTransposeWgsl, constants: { workgroupSize } });
  const params = createUniformBuffer(device, label, packParams([['u32', rows], ['u32', cols]]));
  const grid = flatGrid(fn, device, Math.ceil((rows * cols) / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.weight, buffers.perm, buffers.out, params], grid, [params]);
}
