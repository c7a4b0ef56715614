import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { defineParams, u32Fields } from '../params-struct';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { refitMatvecWgsl } from './refit-matvec.wgsl';

const label = 'refit-matvec';

/** The `Params` struct of `refitMatvecWgsl`, named once. */
export const refitMatvecParams = defineParams(label, u32Fields(['unknowns', 'vectorLength', 'filled', 'matrixStride', 'upper'] as const));

/** Buffers of {@link createRefitMatvecDispatch}. */
export interface RefitMatvecBuffers {
  /** f32 `[unknowns, unknowns]` row-major: the full matrix at 0, the cut one at `matrixStride` (when filled < v). */
  readonly matrices: BufferBinding;
  /** `[unknowns, vectorLength]` f32. */
  readonly x: BufferBinding;
  /** `[unknowns, vectorLength]` f32, not the buffer of x. */
  readonly y: BufferBinding;
}

/** Shape of {@link createRefitMatvecDispatch}. */
export interface RefitMatvecShape {
  readonly unknowns: number;
  /** v, 1–16. */
  readonly vectorLength: number;
  /** Columns j < filled use the full matrix, the others the cut one. */
  readonly filled: number;
  /** Elements from the full matrix to the cut one (ignored when filled = v). */
  readonly matrixStride: number;
  /** `'column'`: y = Σ_k A[k, i]·x[k] (Aᵀ·x: Uᵀ·x); `'row'`: y = Σ_k A[i, k]·x[k] (A·x: U·x). */
  readonly access: 'column' | 'row';
  /** Only the upper triangle of A is non-zero (U): skip the rest. */
  readonly upper?: boolean;
}

/**
 * Records a dense product of the refit's matrices with `[n, v]` vectors (see `refitMatvecWgsl`): the dense
 * preconditioner's U·r and Uᵀ·t.
 *
 * @throws {RangeError} naming the field when a size is invalid or the grid exceeds the device limit.
 */
export async function createRefitMatvecDispatch(device: GPUDevice, buffers: RefitMatvecBuffers, shape: RefitMatvecShape): Promise<KernelDispatch> {
  const fn = 'createRefitMatvecDispatch';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns);
  const vectorLength = assertCount(fn, 'shape.vectorLength', shape.vectorLength, 1, 16);
  const filled = assertCount(fn, 'shape.filled', shape.filled, 1, vectorLength);
  const matrixStride = assertCount(fn, 'shape.matrixStride', shape.matrixStride, filled < vectorLength ? unknowns * unknowns : 0);
  if (shape.access !== 'column' && shape.access !== 'row') throw new RangeError(`${fn}: shape.access must be 'column' or 'row' (got ${String(shape.access)})`);
  const rowAccess = shape.access === 'row';
  const grid = checkWorkgroups(fn, device, rowAccess ? unknowns : Math.ceil(unknowns / 64));
  const pipeline = await getComputePipeline(device, { label, code: refitMatvecWgsl, constants: { rowAccess } });
  const params = createUniformBuffer(device, label, refitMatvecParams.pack({ unknowns, vectorLength, filled, matrixStride, upper: shape.upper === true ? 1 : 0 }));
  return new ComputeStep(device, label, pipeline, [buffers.matrices, buffers.x, buffers.y, params], grid, [params]);
}
