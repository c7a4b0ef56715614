import type { VptqPart, VptqPartAssignment } from '@vptq/codebook/engine';
import { refitGatherSegmentLength } from '../refit-gather/refit-gather';
import type { GpuRefitBlockPlan } from './plan-gpu-refit';

/** Marks "no residual slot" in {@link RefitTables.slots}. */
export const noSlot = 0xffffffff;

/** A block's index tables for one refit, built on the host from the loop's indices (O(R·width)). */
export interface RefitTables {
  /** `[R, width, 2]` u32: main slot and residual slot (or {@link noSlot}) of every vector. */
  readonly slots: Uint32Array;
  /** `[R, width]` u32: main | (residual + 1) << 16 (0 for none), for dense blocks (unknowns < 65535); else undefined. */
  readonly slotPairs: Uint32Array | undefined;
  /** `[unknowns + 1]` u32: slot k's list L_k is `entries[listOffsets[k] … listOffsets[k + 1])`. */
  readonly listOffsets: Uint32Array;
  /** u32 `r·width + a` of the vectors that use each slot, list after list, each in increasing order. */
  readonly entries: Uint32Array;
  /** `[segmentCount + 1]` u32: every list cut into runs of at most 32 entries, as entry offsets. */
  readonly segments: Uint32Array;
  /** `[unknowns + 1]` u32: the first segment of each slot's list. */
  readonly slotSegments: Uint32Array;
}

/**
 * The slot tables of a block: for every vector its slots, and for every slot the list of vectors that use it (a
 * counting sort by slot, stable in position order, so the lists and every sum the kernels take over them have a
 * fixed order).
 *
 * Runs on the host every refit round over R·width vectors (~2.8 M at 4096 × 4096 v6), so it is written as a few
 * flat typed-array passes: check the indices (counting the slots on the way), fill the slots, a prefix sum, one
 * scatter in position order, then the segments.
 *
 * @throws {RangeError} naming the part whose index is not below its codebook size.
 */
export function buildRefitTables(fn: string, block: GpuRefitBlockPlan, parts: readonly VptqPart[], assignments: readonly VptqPartAssignment[]): RefitTables {
  const { width, vectorRows, unknowns, partIndices, partOffsets } = block;
  const vectors = vectorRows * width;
  const regular = isRegularBlock(block, parts, assignments);
  const slots = new Uint32Array(vectors * 2);
  // A regular block's parts write both words of every vector; otherwise the uncovered ones must read noSlot.
  if (!regular) slots.fill(noSlot);
  // counts[k + 1]: the vectors that use slot k; prefix-summed in place below into the list offsets.
  const listOffsets = new Uint32Array(unknowns + 1);
  // Check every part before writing any (the first bad index in part order throws), counting on the way.
  for (let position = 0; position < partIndices.length; position++) {
    const partIndex = partIndices[position];
    checkPartIndices(fn, vectorRows, parts[partIndex], partIndex, partOffsets[position], assignments[partIndex], regular ? listOffsets : undefined);
  }
  for (let position = 0; position < partIndices.length; position++) {
    const partIndex = partIndices[position];
    fillPartSlots(block, parts[partIndex], partOffsets[position], assignments[partIndex], slots, regular);
  }
  if (!regular) {
    // Parts may overlap or leave gaps: count what the slots hold in the end.
    for (let i = 0; i < vectors * 2; i++) if (slots[i] !== noSlot) listOffsets[slots[i] + 1]++;
  }
  for (let k = 0; k < unknowns; k++) listOffsets[k + 1] += listOffsets[k];

  // The counting sort's scatter, in position order (so each list is increasing).
  const next = listOffsets.slice(0, unknowns);
  const entries = new Uint32Array(listOffsets[unknowns]);
  for (let position = 0; position < vectors; position++) {
    const main = slots[position * 2];
    const residual = slots[position * 2 + 1];
    // (A noSlot main is only a vector no part covers: it is in no list.)
    if (main !== noSlot) entries[next[main]++] = position;
    if (residual !== noSlot) entries[next[residual]++] = position;
  }
  let slotPairs: Uint32Array | undefined;
  if (block.solver === 'dense') {
    slotPairs = new Uint32Array(vectors);
    for (let position = 0; position < vectors; position++) {
      const residual = slots[position * 2 + 1];
      slotPairs[position] = (slots[position * 2] | ((residual === noSlot ? 0 : residual + 1) << 16)) >>> 0;
    }
  }

  // Segments: count them first, so they fill a typed array of the right length.
  let segmentCount = 0;
  for (let k = 0; k < unknowns; k++) segmentCount += Math.ceil((listOffsets[k + 1] - listOffsets[k]) / refitGatherSegmentLength);
  const segments = new Uint32Array(segmentCount + 1);
  const slotSegments = new Uint32Array(unknowns + 1);
  let segment = 0;
  for (let k = 0; k < unknowns; k++) {
    slotSegments[k] = segment;
    const end = listOffsets[k + 1];
    for (let e = listOffsets[k]; e < end; e += refitGatherSegmentLength) segments[segment++] = e;
  }
  slotSegments[unknowns] = segment;
  segments[segment] = entries.length;
  return { slots, slotPairs, listOffsets, entries, segments, slotSegments };
}

/**
 * Whether the block's parts tile its columns in order and every index array holds its part's R·size entries: then
 * every vector gets exactly one part's slots (as for every block of `planGpuRefit`), so the slots are counted from
 * the indices and need no noSlot fill first.
 */
function isRegularBlock(block: GpuRefitBlockPlan, parts: readonly VptqPart[], assignments: readonly VptqPartAssignment[]): boolean {
  let column = block.start;
  for (const partIndex of block.partIndices) {
    const part = parts[partIndex];
    const { indices, residualIndices } = assignments[partIndex];
    const count = block.vectorRows * part.size;
    if (part.start !== column || indices.length < count || (residualIndices !== undefined && residualIndices.length < count)) return false;
    column += part.size;
  }
  return column === block.start + block.width;
}

/**
 * Checks one part's indices, counting its slots into `counts[slot + 1]` when given (a regular block). Apart from the
 * fill so that the fill's loop holds no throw (a loop that has thrown once is optimized worse, about 2× here).
 *
 * @throws {RangeError} at the first index (in index order, main before residual) not below its codebook size.
 */
function checkPartIndices(fn: string, vectorRows: number, part: VptqPart, partIndex: number, offset: number, assignment: VptqPartAssignment, counts: Uint32Array | undefined): void {
  const { numCentroids, numResidualCentroids } = part;
  const { indices, residualIndices } = assignment;
  const count = vectorRows * part.size;
  const residualOffset = offset + numCentroids;
  let bad = count;
  for (let i = 0; i < count; i++) {
    const index = indices[i];
    if (index >= numCentroids) {
      bad = i;
      break;
    }
    if (counts !== undefined) counts[offset + index + 1]++;
    if (residualIndices !== undefined) {
      const residual = residualIndices[i];
      if (residual >= numResidualCentroids) {
        bad = i;
        break;
      }
      if (counts !== undefined) counts[residualOffset + residual + 1]++;
    }
  }
  if (bad === count) return;
  if (indices[bad] >= numCentroids) {
    throw new RangeError(`${fn}: assignments[${partIndex}].indices must be below ${numCentroids} (got ${indices[bad]} at ${bad})`);
  }
  throw new RangeError(`${fn}: assignments[${partIndex}].residualIndices must be below ${numResidualCentroids} (got ${residualIndices?.[bad]} at ${bad})`);
}

/**
 * Writes one part's (checked) slots: main `offset + index`, residual `offset + K + residual`. Where the part has no
 * residual indices it writes noSlot when `clearResidual` (a regular block, whose slots were not filled first), else
 * leaves the word as it is (noSlot, or a part's before it that overlaps).
 */
function fillPartSlots(block: GpuRefitBlockPlan, part: VptqPart, offset: number, assignment: VptqPartAssignment, slots: Uint32Array, clearResidual: boolean): void {
  const { width, vectorRows } = block;
  const { size } = part;
  const { indices, residualIndices } = assignment;
  const column = part.start - block.start;
  const residualOffset = offset + part.numCentroids;
  for (let r = 0; r < vectorRows; r++) {
    const source = r * size;
    const first = (r * width + column) * 2;
    if (residualIndices !== undefined) {
      for (let local = 0; local < size; local++) {
        slots[first + local * 2] = offset + indices[source + local];
        slots[first + local * 2 + 1] = residualOffset + residualIndices[source + local];
      }
    } else if (clearResidual) {
      for (let local = 0; local < size; local++) {
        slots[first + local * 2] = offset + indices[source + local];
        slots[first + local * 2 + 1] = noSlot;
      }
    } else {
      for (let local = 0; local < size; local++) slots[first + local * 2] = offset + indices[source + local];
    }
  }
}

/**
 * The diagonal of the block's normal matrix, in f64 from the f64 H̃ (the CPU refit's `addVectorRowDiagonal`): for
 * every slot, H̃[a, b] summed over the pairs of its vectors (r, a), (r, b) in one vector row. `full` counts every
 * vector row, `cut` all but the padded last one (equal to `full` without a padded row).
 */
export function refitDiagonals(block: GpuRefitBlockPlan, hessian: Float64Array, cols: number, tables: RefitTables): { full: Float64Array; cut: Float64Array } {
  const { unknowns, width, vectorRows, start } = block;
  const { listOffsets, entries } = tables;
  const cut = new Float64Array(unknowns);
  const last = new Float64Array(unknowns);
  const lastRow = vectorRows - 1;
  for (let k = 0; k < unknowns; k++) {
    const end = listOffsets[k + 1];
    for (let first = listOffsets[k]; first < end; ) {
      // One run: the vectors of slot k in one vector row (the list is in position order, so they are adjacent).
      const row = Math.floor(entries[first] / width);
      let stop = first + 1;
      while (stop < end && Math.floor(entries[stop] / width) === row) stop++;
      let sum = 0;
      for (let i = first; i < stop; i++) {
        const hessianRow = (start + (entries[i] - row * width)) * cols + start;
        for (let j = first; j < stop; j++) sum += hessian[hessianRow + entries[j] - row * width];
      }
      if (row === lastRow) last[k] += sum;
      else cut[k] += sum;
      first = stop;
    }
  }
  const full = Float64Array.from(cut, (value, k) => value + last[k]);
  return { full, cut: block.filled < block.vectorLength ? cut : full };
}

/** `relativeRidge`·(mean of the positive diagonal entries), or 1 when there are none: the CPU refit's ridge. */
export function refitRidge(diagonal: Float64Array, relativeRidge: number): number {
  let sum = 0;
  let count = 0;
  for (const value of diagonal) {
    if (value > 0) {
      sum += value;
      count++;
    }
  }
  return count === 0 ? 1 : (relativeRidge * sum) / count;
}
