import { createUniformBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { defineParams } from '../params-struct';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { refitNormalWgsl } from './refit-normal.wgsl';

const label = 'refit-normal';
/** Workgroup memory kept free beside the chunk's sums (the list bounds and the driver's own use). */
const reservedWorkgroupBytes = 64;
/** Slot pairs are packed as two u16 (the residual slot + 1 in the high half). */
export const maxRefitNormalUnknowns = 65534;

/** The `Params` struct of `refitNormalWgsl`, named once. */
export const refitNormalParams = defineParams(label, [
  ['unknowns', 'u32'],
  ['width', 'u32'],
  ['cols', 'u32'],
  ['start', 'u32'],
  ['cutRow', 'u32'],
  ['chunkColumns', 'u32'],
  ['matrixStride', 'u32'],
  ['scale', 'f32'],
  ['inverseScale', 'f32'],
  ['choleskyRidgeFull', 'f32'],
  ['choleskyRidgeCut', 'f32'],
] as const);

/** Buffers of {@link createRefitNormalDispatch}. */
export interface RefitNormalBuffers {
  /** `[cols, cols]` f32 H̃. */
  readonly hessian: BufferBinding;
  /** `[vectorRows, width]` u32: main slot | (residual slot + 1) << 16, 0 in the high half for none. */
  readonly slotPairs: BufferBinding;
  /** `[unknowns + 1]` u32: where each slot's list starts in `entries`. */
  readonly listOffsets: BufferBinding;
  /** u32 `r·width + a` of every vector of every list, each list in increasing order. */
  readonly entries: BufferBinding;
  /**
   * `[3, unknowns]` f32: the gauge weights w of the full and of the cut columns (±√(mean diagonal / n_g·n_g) on the
   * slots of a null direction, 0 elsewhere) and the null direction of each slot (−1 for none).
   */
  readonly gauge: BufferBinding;
  /**
   * f32: the full M `[unknowns, unknowns]` at 0, the cut M at `matrixStride` (with a cut), each with the Cholesky ridge
   * on the diagonal and the gauge terms: what the inverse Cholesky factorization reads (and overwrites).
   */
  readonly factorInputs: BufferBinding;
}

/** Shape and scales of {@link createRefitNormalDispatch}. */
export interface RefitNormalShape {
  /** Slots of the block (n), below 65535. */
  readonly unknowns: number;
  /** Columns of the block. */
  readonly width: number;
  /** Columns of H̃. */
  readonly cols: number;
  /** First column of the block in H̃. */
  readonly start: number;
  /** The padded last vector row (R − 1) whose vectors the cut matrix leaves out, or undefined for no cut. */
  readonly cutRow?: number;
  /** Elements from the full matrix to the cut one, ≥ unknowns². */
  readonly matrixStride: number;
  /** Fixed-point units per unit of H̃: a power of two keeping every entry of M below 2^62 units. */
  readonly scale: number;
  /** Columns per workgroup, at most (and by default) {@link refitNormalChunkColumns}; smaller only for tests. */
  readonly chunkColumns?: number;
}

/** A recorded {@link createRefitNormalDispatch}; the Cholesky ridges can change between submits. */
export interface RefitNormalDispatch extends KernelDispatch {
  /** Rewrites the ridges added to the diagonals (full, cut); takes effect at the next submit. */
  setCholeskyRidges(full: number, cut: number): void;
}

/**
 * Columns of M one workgroup sums in its workgroup memory: 8 bytes each, so 4088 with 32 KiB (lavapipe) and 6136
 * with 48 KiB (an H100 under Dawn).
 */
export function refitNormalChunkColumns(limits: { readonly maxComputeWorkgroupStorageSize: number }, unknowns: number): number {
  return Math.min(unknowns, Math.floor((limits.maxComputeWorkgroupStorageSize - reservedWorkgroupBytes) / 8));
}

/**
 * Records the exact normal matrix of a refit block (see `refitNormalWgsl`): one workgroup per row of M and chunk of
 * {@link refitNormalChunkColumns} columns.
 *
 * @throws {RangeError} naming the field when a size is invalid, the scale is not a power of two an f32 can hold,
 *   or the grid exceeds the device limit.
 */
export async function createRefitNormalDispatch(device: GPUDevice, buffers: RefitNormalBuffers, shape: RefitNormalShape): Promise<RefitNormalDispatch> {
  const fn = 'createRefitNormalDispatch';
  const unknowns = assertCount(fn, 'shape.unknowns', shape.unknowns, 1, maxRefitNormalUnknowns);
  const width = assertCount(fn, 'shape.width', shape.width);
  const cols = assertCount(fn, 'shape.cols', shape.cols, width);
  const start = assertCount(fn, 'shape.start', shape.start, 0, cols - width);
  const cutRow = shape.cutRow === undefined ? 0xffffffff : assertCount(fn, 'shape.cutRow', shape.cutRow, 0, 0xfffffffe);
  const matrixStride = assertCount(fn, 'shape.matrixStride', shape.matrixStride, unknowns * unknowns);
  const scale = shape.scale;
  const exponent = Math.log2(scale);
  if (!Number.isInteger(exponent) || exponent < -126 || exponent > 127) {
    throw new RangeError(`${fn}: shape.scale must be a power of two between 2^-126 and 2^127 (got ${scale})`);
  }
  const capacity = refitNormalChunkColumns(device.limits, unknowns);
  if (capacity < 1) throw new RangeError(`${fn}: the device's maxComputeWorkgroupStorageSize of ${device.limits.maxComputeWorkgroupStorageSize} holds no column of sums`);
  const chunkColumns = assertCount(fn, 'shape.chunkColumns', shape.chunkColumns ?? capacity, 1, capacity);
  const grid = checkWorkgroups(fn, device, unknowns, Math.ceil(unknowns / chunkColumns));
  const pipeline = await getComputePipeline(device, { label, code: refitNormalWgsl, constants: { chunkCapacity: chunkColumns } });
  const pack = (full: number, cut: number) =>
    refitNormalParams.pack({
      unknowns,
      width,
      cols,
      start,
      cutRow,
      chunkColumns,
      matrixStride,
      scale,
      inverseScale: 1 / scale,
      choleskyRidgeFull: full,
      choleskyRidgeCut: cut,
    });
  const params = createUniformBuffer(device, label, pack(0, 0));
  const bindings = [buffers.hessian, buffers.slotPairs, buffers.listOffsets, buffers.entries, buffers.gauge, buffers.factorInputs, params];
  const step = new ComputeStep(device, label, pipeline, bindings, grid, [params]);
  return {
    label,
    encode: (pass) => step.encode(pass),
    destroy: () => step.destroy(),
    setCholeskyRidges(full, cut) {
      device.queue.writeBuffer(params, 0, pack(full, cut));
    },
  };
}
