import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { defineParams, u32Fields } from '../params-struct';
import { assertCount } from '../validate';
import { refitReconstructWgsl } from './refit-reconstruct.wgsl';

const label = 'refit-reconstruct';

/** The `Params` struct of `refitReconstructWgsl`, named once. */
export const refitReconstructParams = defineParams(label, u32Fields(['rows', 'width', 'vectorLength', 'ldq', 'qOffset'] as const));

/** Buffers of {@link createRefitReconstructDispatch}. */
export interface RefitReconstructBuffers {
  /** `[unknowns, vectorLength]` f32: the block's codebooks as one slot-major table. */
  readonly x: BufferBinding;
  /** `[vectorRows, width, 2]` u32: main slot and residual slot (0xffffffff for none) of each vector. */
  readonly slots: BufferBinding;
  /** f32 output, element (column a, row o) at `qOffset + a·ldq + o`. */
  readonly q: BufferBinding;
}

/** Shape of {@link createRefitReconstructDispatch}. */
export interface RefitReconstructShape {
  /** Output rows (out) written per column. */
  readonly rows: number;
  /** Columns of the block. */
  readonly width: number;
  /** v, 1–16. */
  readonly vectorLength: number;
  /** Elements between consecutive columns of q, ≥ rows. */
  readonly ldq: number;
  /** Element of q where column 0 starts. */
  readonly qOffset: number;
}

/**
 * Records the reconstruction of a block's columns from its codebooks and fixed indices (see
 * `refitReconstructWgsl`): the codebook refit's `Q = A·x`, for the other block's error and the matrix-free products.
 *
 * @throws {RangeError} naming the field when a size is not a positive integer, or the grid exceeds the device limit.
 */
export async function createRefitReconstructDispatch(device: GPUDevice, buffers: RefitReconstructBuffers, shape: RefitReconstructShape): Promise<KernelDispatch> {
  const fn = 'createRefitReconstructDispatch';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const width = assertCount(fn, 'shape.width', shape.width);
  const vectorLength = assertCount(fn, 'shape.vectorLength', shape.vectorLength, 1, 16);
  const ldq = assertCount(fn, 'shape.ldq', shape.ldq, rows);
  const qOffset = assertCount(fn, 'shape.qOffset', shape.qOffset, 0);
  if (rows * width > 0xffffffff) throw new RangeError(`${fn}: shape.rows × shape.width must be below 2^32 (got ${rows} × ${width})`);
  const grid = flatGrid(fn, device, Math.ceil((rows * width) / 256));
  const pipeline = await getComputePipeline(device, { label, code: refitReconstructWgsl });
  const params = createUniformBuffer(device, label, refitReconstructParams.pack({ rows, width, vectorLength, ldq, qOffset }));
  return new ComputeStep(device, label, pipeline, [buffers.x, buffers.slots, buffers.q, params], grid, [params]);
}
