import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { defineParams, u32Fields } from '../params-struct';
import { assertCount } from '../validate';
import { refitDiagonalWgsl } from './refit-diagonal.wgsl';

const label = 'refit-diagonal';

/** The `Params` struct of `refitDiagonalWgsl`, named once. */
export const refitDiagonalParams = defineParams(label, u32Fields(['unknowns', 'segmentCount', 'width', 'cols', 'start', 'cutRow'] as const));

/** Buffers of {@link createRefitDiagonalDispatch} (the lists and segments as `refit-gather` reads them). */
export interface RefitDiagonalBuffers {
  /** `[cols, cols]` f32 H̃. */
  readonly hessian: BufferBinding;
  /** u32 `r·width + a` of every slot's vectors, list after list, each in position order. */
  readonly entries: BufferBinding;
  /** `[unknowns + 1]` u32. */
  readonly listOffsets: BufferBinding;
  /** `[segmentCount + 1]` u32: entry offsets of the segments (≤ 32 entries of one list each; empty ones allowed). */
  readonly segments: BufferBinding;
  /** `[unknowns + 1]` u32: each slot's first segment. */
  readonly slotSegments: BufferBinding;
  /** `[segmentCount, 2]` f32 scratch. */
  readonly partials: BufferBinding;
  /** `[2, unknowns]` f32 output: the full diagonal, then the cut one. */
  readonly diagonal: BufferBinding;
}

/** Shape of {@link createRefitDiagonalDispatch}. */
export interface RefitDiagonalShape {
  readonly unknowns: number;
  /** Segments to cover (the buffer may hold more, empty ones). */
  readonly segmentCount: number;
  /** Columns of the block. */
  readonly width: number;
  /** Columns of H̃. */
  readonly cols: number;
  /** The block's first column in H̃. */
  readonly start: number;
  /** The padded last vector row the cut diagonal leaves out, or undefined (then cut = full). */
  readonly cutRow?: number;
}

/**
 * Records the diagonal of a refit block's normal matrix (see `refitDiagonalWgsl`): two dispatches, segments then
 * slots. Its CPU twin is `refitDiagonals`.
 *
 * @throws {RangeError} naming the field when a size is invalid or the grid exceeds the device limit.
 */
export async function createRefitDiagonalDispatch(device: GPUDevice, buffers: RefitDiagonalBuffers, shape: RefitDiagonalShape): Promise<KernelDispatch> {
  const fn = 'createRefitDiagonalDispatch';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns);
  const segmentCount = assertCount(fn, 'shape.segmentCount', shape.segmentCount, 0);
  const width = assertCount(fn, 'shape.width', shape.width);
  const cols = assertCount(fn, 'shape.cols', shape.cols, width);
  const start = assertCount(fn, 'shape.start', shape.start, 0, cols - width);
  const cutRow = shape.cutRow === undefined ? 0xffffffff : assertCount(fn, 'shape.cutRow', shape.cutRow, 0, 0xfffffffe);
  const params = createUniformBuffer(device, label, refitDiagonalParams.pack({ unknowns, segmentCount, width, cols, start, cutRow }));
  const bindings = [buffers.hessian, buffers.entries, buffers.listOffsets, buffers.segments, buffers.slotSegments, buffers.partials, buffers.diagonal, params];
  const [segmentsStage, slotsStage] = await Promise.all(
    ['segments', 'slots'].map((name, stage) => getComputePipeline(device, { label: `${label}/${name}`, code: refitDiagonalWgsl, constants: { stage } })),
  );
  return new DispatchSequence(
    label,
    [
      new ComputeStep(device, `${label}/segments`, segmentsStage, bindings, flatGrid(fn, device, Math.ceil(segmentCount / 256))),
      new ComputeStep(device, `${label}/slots`, slotsStage, bindings, flatGrid(fn, device, Math.ceil(unknowns / 256))),
    ],
    [params],
  );
}
