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
 * @throws {RangeError} naming the part whose index is not below its codebook size.
 */
export function buildRefitTables(fn: string, block: GpuRefitBlockPlan, parts: readonly VptqPart[], assignments: readonly VptqPartAssignment[]): RefitTables {
  const { width, vectorRows, unknowns, start } = block;
  const slots = new Uint32Array(vectorRows * width * 2).fill(noSlot);
  block.partIndices.forEach((partIndex, position) => {
    const part = parts[partIndex];
    const offset = block.partOffsets[position];
    const { indices, residualIndices } = assignments[partIndex];
    const column = part.start - start;
    for (let r = 0; r < vectorRows; r++) {
      for (let local = 0; local < part.size; local++) {
        const index = indices[r * part.size + local];
        if (index >= part.numCentroids) {
          throw new RangeError(`${fn}: assignments[${partIndex}].indices must be below ${part.numCentroids} (got ${index} at ${r * part.size + local})`);
        }
        const slot = (r * width + column + local) * 2;
        slots[slot] = offset + index;
        if (residualIndices !== undefined) {
          const residual = residualIndices[r * part.size + local];
          if (residual >= part.numResidualCentroids) {
            throw new RangeError(
              `${fn}: assignments[${partIndex}].residualIndices must be below ${part.numResidualCentroids} (got ${residual} at ${r * part.size + local})`,
            );
          }
          slots[slot + 1] = offset + part.numCentroids + residual;
        }
      }
    }
  });
  const vectors = vectorRows * width;
  const counts = new Uint32Array(unknowns + 1);
  for (let i = 0; i < vectors * 2; i++) if (slots[i] !== noSlot) counts[slots[i] + 1]++;
  for (let k = 0; k < unknowns; k++) counts[k + 1] += counts[k];
  const listOffsets = counts.slice();
  const next = counts.subarray(0, unknowns).slice();
  const entries = new Uint32Array(listOffsets[unknowns]);
  for (let position = 0; position < vectors; position++) {
    entries[next[slots[position * 2]]++] = position;
    const residual = slots[position * 2 + 1];
    if (residual !== noSlot) entries[next[residual]++] = position;
  }
  const slotSegments = new Uint32Array(unknowns + 1);
  const segmentStarts: number[] = [];
  for (let k = 0; k < unknowns; k++) {
    slotSegments[k] = segmentStarts.length;
    for (let e = listOffsets[k]; e < listOffsets[k + 1]; e += refitGatherSegmentLength) segmentStarts.push(e);
  }
  slotSegments[unknowns] = segmentStarts.length;
  segmentStarts.push(entries.length);
  let slotPairs: Uint32Array | undefined;
  if (block.solver === 'dense') {
    slotPairs = new Uint32Array(vectors);
    for (let position = 0; position < vectors; position++) {
      const residual = slots[position * 2 + 1];
      slotPairs[position] = (slots[position * 2] | ((residual === noSlot ? 0 : residual + 1) << 16)) >>> 0;
    }
  }
  return { slots, slotPairs, listOffsets, entries, segments: Uint32Array.from(segmentStarts), slotSegments };
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
