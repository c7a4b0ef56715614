import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { defineParams } from '../params-struct';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { refitGatherWgsl } from './refit-gather.wgsl';

const label = 'refit-gather';

/** Most entries one invocation of the first stage sums: lists are split into segments of this length. */
export const refitGatherSegmentLength = 32;

/** The `Params` struct of `refitGatherWgsl`, named once. */
export const refitGatherParams = defineParams(label, [
  ['unknowns', 'u32'],
  ['segmentCount', 'u32'],
  ['vectorLength', 'u32'],
  ['rows', 'u32'],
  ['width', 'u32'],
  ['ldy', 'u32'],
  ['yOffset', 'u32'],
  ['filled', 'u32'],
  ['ridgeFull', 'f32'],
  ['ridgeCut', 'f32'],
] as const);

/** Buffers of {@link createRefitGatherDispatch}. */
export interface RefitGatherBuffers {
  /** The f32 product Y, element (column a, row o) at `yOffset + a·ldy + o`. */
  readonly y: BufferBinding;
  /** `[Σ|L_k|]` u32: the vectors of every slot's list, `r·width + a`, list after list. */
  readonly entries: BufferBinding;
  /** `[segmentCount + 1]` u32: entry where each segment (≤ {@link refitGatherSegmentLength} entries of one list) starts. */
  readonly segments: BufferBinding;
  /** `[unknowns + 1]` u32: first segment of each slot's list. */
  readonly slotSegments: BufferBinding;
  /** `[unknowns, vectorLength]` f32: the vector the ridge term multiplies (any buffer when both ridges are 0). */
  readonly p: BufferBinding;
  /** `[segmentCount, vectorLength]` f32 scratch. */
  readonly partials: BufferBinding;
  /** `[unknowns, vectorLength]` f32 output. */
  readonly gathered: BufferBinding;
}

/** Shape of {@link createRefitGatherDispatch}. */
export interface RefitGatherShape {
  readonly unknowns: number;
  readonly segmentCount: number;
  /** v, 1–16. */
  readonly vectorLength: number;
  /** Output rows (out): rows o ≥ rows of the padded last vector are skipped. */
  readonly rows: number;
  /** Columns of the block (the `a` range of the entries). */
  readonly width: number;
  /** Elements between consecutive columns of Y, ≥ rows. */
  readonly ldy: number;
  readonly yOffset?: number;
  /** Codebook columns j < filled use `ridgeFull`, the others `ridgeCut`. */
  readonly filled: number;
  readonly ridgeFull?: number;
  readonly ridgeCut?: number;
}

/** A recorded {@link createRefitGatherDispatch}; the ridges can change between submits. */
export interface RefitGatherDispatch extends KernelDispatch {
  /** Rewrites ridgeFull and ridgeCut (takes effect at the next submit). */
  setRidges(full: number, cut: number): void;
}

/**
 * Records the refit's gather by codebook slot (see `refitGatherWgsl`): two dispatches, segments then slots, in a
 * fixed summation order.
 *
 * @throws {RangeError} naming the field when a size is invalid or the grid exceeds the device limit.
 */
export async function createRefitGatherDispatch(device: GPUDevice, buffers: RefitGatherBuffers, shape: RefitGatherShape): Promise<RefitGatherDispatch> {
  const fn = 'createRefitGatherDispatch';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns);
  const segmentCount = assertCount(fn, 'shape.segmentCount', shape.segmentCount, 0);
  const vectorLength = assertCount(fn, 'shape.vectorLength', shape.vectorLength, 1, 16);
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const width = assertCount(fn, 'shape.width', shape.width);
  const ldy = assertCount(fn, 'shape.ldy', shape.ldy, rows);
  const yOffset = assertCount(fn, 'shape.yOffset', shape.yOffset ?? 0, 0);
  const filled = assertCount(fn, 'shape.filled', shape.filled, 1, vectorLength);
  const pack = (ridgeFull: number, ridgeCut: number) =>
    refitGatherParams.pack({ unknowns, segmentCount, vectorLength, rows, width, ldy, yOffset, filled, ridgeFull, ridgeCut });
  const params = createUniformBuffer(device, label, pack(shape.ridgeFull ?? 0, shape.ridgeCut ?? 0));
  const bindings = [buffers.y, buffers.entries, buffers.segments, buffers.slotSegments, buffers.p, buffers.partials, buffers.gathered, params];
  const [segmentsStage, slotsStage] = await Promise.all(
    [0, 1].map((stage) => getComputePipeline(device, { label: `${label}/${stage === 0 ? 'segments' : 'slots'}`, code: refitGatherWgsl, constants: { stage } })),
  );
  const steps = [
    new ComputeStep(device, `${label}/segments`, segmentsStage, bindings, flatGrid(fn, device, Math.ceil(segmentCount / 256))),
    new ComputeStep(device, `${label}/slots`, slotsStage, bindings, flatGrid(fn, device, Math.ceil(unknowns / 256))),
  ];
  const sequence = new DispatchSequence(label, steps, [params]);
  return {
    label,
    encode: (pass) => sequence.encode(pass),
    destroy: () => sequence.destroy(),
    setRidges: (full, cut) => device.queue.writeBuffer(params, 0, pack(full, cut)),
  };
}
