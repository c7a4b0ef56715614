import type { VptqPart, VptqPartAssignment } from '@vptq/codebook/engine';
import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { buildRefitTables, noSlot, refitDiagonals, refitRidge } from './build-refit-tables';
import type { RefitTables } from './build-refit-tables';
import { planGpuRefit, readGpuRefitTuning } from './plan-gpu-refit';
import type { GpuRefitBlockPlan } from './plan-gpu-refit';
import { refitParts, refitProblem } from './test/refit-problem';

const limits = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28, maxComputeWorkgroupsPerDimension: 65535, maxComputeWorkgroupStorageSize: 32768 };

describe('buildRefitTables', () => {
  // rows = 10 at v = 4: the last vector row holds 2 real rows; 2 groups with residual codebooks, entry 5 of group 1 unused.
  const problem = refitProblem({ rows: 10, cols: 24, vectorLength: 4, numCentroids: 16, numResidualCentroids: 4, groups: 2 }, 12, { unused: [5], unusedPart: 1 });
  const [block] = planGpuRefit('test', problem.layer, limits, readGpuRefitTuning('test', { solver: 'dense' })).blocks;
  const tables = buildRefitTables('test', block, problem.layer.parts, problem.assignments);

  it('lists every vector under its main and its residual slot, in position order, cut into segments of at most 32', () => {
    const { slots, listOffsets, entries, segments, slotSegments, slotPairs } = tables;
    expect(block.partOffsets).toEqual([0, 20]);
    expect(listOffsets[block.unknowns]).toBe(2 * block.vectorRows * block.width);
    for (let k = 0; k < block.unknowns; k++) {
      const list = Array.from(entries.subarray(listOffsets[k], listOffsets[k + 1]));
      const expected: number[] = [];
      for (let position = 0; position < block.vectorRows * block.width; position++) {
        if (slots[2 * position] === k || slots[2 * position + 1] === k) expected.push(position);
      }
      expect(list).toEqual(expected);
      const covered: number[] = [];
      for (let s = slotSegments[k]; s < slotSegments[k + 1]; s++) {
        expect(segments[s + 1] - segments[s]).toBeLessThanOrEqual(32);
        for (let e = segments[s]; e < segments[s + 1]; e++) covered.push(entries[e]);
      }
      expect(covered).toEqual(expected);
    }
    expect(listOffsets[20 + 5 + 1] - listOffsets[20 + 5]).toBe(0);
    // Vector (r = 1, column 13 = group 1's column 1): slots of group 1 (offset 20, main 0–15, residual 16–19).
    const position = 1 * 24 + 13;
    const { indices, residualIndices } = problem.assignments[1];
    expect([slots[2 * position], slots[2 * position + 1]]).toEqual([20 + indices[1 * 12 + 1], 20 + 16 + (residualIndices as Uint16Array)[1 * 12 + 1]]);
    expect(slotPairs?.[position]).toBe(slots[2 * position] | ((slots[2 * position + 1] + 1) << 16));
    expect(slots.includes(noSlot)).toBe(false);
  });

  it('sums the diagonal of the full and the cut normal matrix like the CPU refit', () => {
    const { full, cut } = refitDiagonals(block, problem.layer.hessian, problem.layer.cols, tables);
    const { hessian, cols } = problem.layer;
    const bruteFull = new Float64Array(block.unknowns);
    const bruteCut = new Float64Array(block.unknowns);
    for (let r = 0; r < block.vectorRows; r++) {
      for (let a = 0; a < block.width; a++) {
        for (let b = 0; b < block.width; b++) {
          for (const kind of [0, 1]) {
            const slot = tables.slots[(r * block.width + a) * 2 + kind];
            if (slot !== noSlot && slot === tables.slots[(r * block.width + b) * 2 + kind]) {
              bruteFull[slot] += hessian[(block.start + a) * cols + block.start + b];
              if (r < block.vectorRows - 1) bruteCut[slot] += hessian[(block.start + a) * cols + block.start + b];
            }
          }
        }
      }
    }
    for (let k = 0; k < block.unknowns; k++) {
      expect(full[k]).toBeCloseTo(bruteFull[k], 12);
      expect(cut[k]).toBeCloseTo(bruteCut[k], 12);
    }
    expect(full[25]).toBe(0);
    const used = bruteFull.filter((value) => value > 0);
    expect(refitRidge(full, 1e-9) / ((1e-9 * used.reduce((sum, value) => sum + value, 0)) / used.length)).toBeCloseTo(1, 12);
    expect(refitRidge(new Float64Array(3), 1e-9)).toBe(1);
  });

  it('rejects an index beyond its codebook, naming the part and position', () => {
    const bad = problem.assignments.map((assignment) => ({ ...assignment, indices: Uint16Array.from(assignment.indices) }));
    bad[0].indices[7] = 16;
    expect(() => buildRefitTables('refit', block, problem.layer.parts, bad)).toThrow(/refit: assignments\[0\].indices must be below 16 \(got 16 at 7\)/);
  });
});

/**
 * The definition of the tables in plain loops (slots per part, a bucket per slot filled in position order), kept
 * apart from the optimized passes of `buildRefitTables` so that any change to its output shows.
 */
function referenceTables(fn: string, block: GpuRefitBlockPlan, parts: readonly VptqPart[], assignments: readonly VptqPartAssignment[]): RefitTables {
  const vectors = block.vectorRows * block.width;
  const slots = new Uint32Array(2 * vectors).fill(noSlot);
  block.partIndices.forEach((partIndex, position) => {
    const part = parts[partIndex];
    const { indices, residualIndices } = assignments[partIndex];
    for (let i = 0; i < block.vectorRows * part.size; i++) {
      const vector = Math.floor(i / part.size) * block.width + part.start - block.start + (i % part.size);
      if (indices[i] >= part.numCentroids) throw new RangeError(`${fn}: assignments[${partIndex}].indices must be below ${part.numCentroids} (got ${indices[i]} at ${i})`);
      slots[2 * vector] = block.partOffsets[position] + indices[i];
      if (residualIndices === undefined) continue;
      if (residualIndices[i] >= part.numResidualCentroids) {
        throw new RangeError(`${fn}: assignments[${partIndex}].residualIndices must be below ${part.numResidualCentroids} (got ${residualIndices[i]} at ${i})`);
      }
      slots[2 * vector + 1] = block.partOffsets[position] + part.numCentroids + residualIndices[i];
    }
  });
  const lists: number[][] = Array.from({ length: block.unknowns }, () => []);
  for (let vector = 0; vector < vectors; vector++) {
    for (const slot of [slots[2 * vector], slots[2 * vector + 1]]) if (slot !== noSlot) lists[slot].push(vector);
  }
  const listOffsets = [0];
  const segments: number[] = [];
  const slotSegments: number[] = [];
  for (const list of lists) {
    slotSegments.push(segments.length);
    const first = listOffsets[listOffsets.length - 1];
    for (let e = 0; e < list.length; e += 32) segments.push(first + e);
    listOffsets.push(first + list.length);
  }
  slotSegments.push(segments.length);
  segments.push(listOffsets[block.unknowns]);
  const slotPairs =
    block.solver === 'dense'
      ? Uint32Array.from({ length: vectors }, (_, vector) => {
          const residual = slots[2 * vector + 1];
          return residual === noSlot ? slots[2 * vector] : slots[2 * vector] + (residual + 1) * 65536;
        })
      : undefined;
  return {
    slots,
    slotPairs,
    listOffsets: Uint32Array.from(listOffsets),
    entries: Uint32Array.from(lists.flat()),
    segments: Uint32Array.from(segments),
    slotSegments: Uint32Array.from(slotSegments),
  };
}

describe('buildRefitTables against a reference', () => {
  const limits = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 40, maxComputeWorkgroupsPerDimension: 65535, maxComputeWorkgroupStorageSize: 49152 };
  // Parts of one vector length with different K and Kr (Kr = 0 on one), rows not a multiple of v (a padded last row).
  const parts: VptqPart[] = [
    { start: 0, size: 5, vectorLength: 6, vectorRows: 17, numCentroids: 40, numResidualCentroids: 0 },
    { start: 5, size: 7, vectorLength: 6, vectorRows: 17, numCentroids: 16, numResidualCentroids: 4 },
    { start: 12, size: 40, vectorLength: 6, vectorRows: 17, numCentroids: 64, numResidualCentroids: 9 },
  ];
  const layer = { rows: 100, cols: 52, parts };
  const randomAssignments = (layerParts: readonly VptqPart[], seed: number): VptqPartAssignment[] => {
    const next = createTestRng(seed);
    return layerParts.map((part) => {
      const count = part.vectorRows * part.size;
      const indices = Uint16Array.from({ length: count }, () => Math.floor(next() * part.numCentroids));
      if (part.numResidualCentroids === 0) return { codebook: new Float32Array(0), indices };
      const residualIndices = Uint16Array.from({ length: count }, () => Math.floor(next() * part.numResidualCentroids));
      return { codebook: new Float32Array(0), indices, residualCodebook: new Float32Array(0), residualIndices };
    });
  };
  const expectSame = (block: GpuRefitBlockPlan, layerParts: readonly VptqPart[], assignments: readonly VptqPartAssignment[]) => {
    const tables = buildRefitTables('test', block, layerParts, assignments);
    const reference = referenceTables('test', block, layerParts, assignments);
    for (const field of ['slots', 'slotPairs', 'listOffsets', 'entries', 'segments', 'slotSegments'] as const) expect(tables[field], field).toEqual(reference[field]);
    return tables;
  };

  it('matches on planned blocks: several parts, residuals, dense and CG, an outlier block', () => {
    for (const solver of ['dense', 'cg'] as const) {
      for (const seed of [1, 2, 3]) {
        const [block] = planGpuRefit('test', layer, limits, readGpuRefitTuning('test', { solver })).blocks;
        expectSame(block, parts, randomAssignments(parts, seed));
      }
    }
    // Outlier part (v = 4) in its own block, 3 groups of v = 8 with residual codebooks; K = 4096 (lists over 32 long).
    const outlierParts = refitParts({ rows: 61, cols: 112, vectorLength: 8, numCentroids: 4096, numResidualCentroids: 16, groups: 3, outlier: { size: 16, vectorLength: 4, numCentroids: 8 } });
    const outlierLayer = { rows: 61, cols: 112, parts: outlierParts };
    const assignments = randomAssignments(outlierParts, 4);
    const { blocks } = planGpuRefit('test', outlierLayer, limits, readGpuRefitTuning('test', { solver: 'cg' }));
    expect(blocks).toHaveLength(2);
    for (const block of blocks) expectSame(block, outlierParts, assignments);
    // Long lists, cut into several segments each.
    const few = refitParts({ rows: 64, cols: 32, vectorLength: 2, numCentroids: 3, numResidualCentroids: 2 });
    const tables = expectSame(planGpuRefit('test', { rows: 64, cols: 32, parts: few }, limits, readGpuRefitTuning('test', { solver: 'dense' })).blocks[0], few, randomAssignments(few, 5));
    expect(tables.segments.length).toBeGreaterThan(2 * 5 + 1);
  });

  it('matches on a block whose parts leave columns uncovered (noSlot)', () => {
    const [planned] = planGpuRefit('test', layer, limits, readGpuRefitTuning('test', { solver: 'dense' })).blocks;
    const assignments = randomAssignments(parts, 6);
    // Part 1 left out, and 3 columns past the last part: their vectors have no slots and are in no list.
    const gapped: GpuRefitBlockPlan = { ...planned, partIndices: [0, 2], partOffsets: [planned.partOffsets[0], planned.partOffsets[2]], width: planned.width + 3 };
    const tables = expectSame(gapped, parts, assignments);
    expect(tables.slots[2 * 5]).toBe(noSlot);
    expect(tables.slotPairs?.[planned.width]).toBe(noSlot);
    // Index arrays shorter than R·size (not a planned input either) read as undefined, as ever.
    const [cg] = planGpuRefit('test', layer, limits, readGpuRefitTuning('test', { solver: 'cg' })).blocks;
    const short = assignments.map((assignment, index) => (index === 1 ? { ...assignment, indices: assignment.indices.subarray(0, 20) } : assignment));
    expectSame(cg, parts, short);
  });

  it('throws the first out-of-range index in part order, main before residual', () => {
    const [block] = planGpuRefit('test', layer, limits, readGpuRefitTuning('test', { solver: 'cg' })).blocks;
    const assignments = randomAssignments(parts, 7);
    const edit = (partIndex: number, field: 'indices' | 'residualIndices', at: number, value: number, from = assignments) =>
      from.map((assignment, index) => {
        if (index !== partIndex) return assignment;
        const values = Uint16Array.from(assignment[field] as Uint16Array);
        values[at] = value;
        return { ...assignment, [field]: values };
      });
    const message = (bad: VptqPartAssignment[]) => {
      try {
        referenceTables('refit', block, parts, bad);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('the reference accepted the indices');
    };
    const cases = [
      edit(0, 'indices', 84, 40),
      edit(2, 'residualIndices', 600, 9),
      edit(2, 'indices', 601, 64, edit(2, 'residualIndices', 600, 9)),
      edit(2, 'indices', 600, 64, edit(2, 'residualIndices', 600, 9)),
      edit(1, 'residualIndices', 3, 4, edit(2, 'indices', 0, 64)),
    ];
    expect(message(cases[1])).toBe('refit: assignments[2].residualIndices must be below 9 (got 9 at 600)');
    expect(message(cases[3])).toBe('refit: assignments[2].indices must be below 64 (got 64 at 600)');
    for (const bad of cases) expect(() => buildRefitTables('refit', block, parts, bad)).toThrow(new RangeError(message(bad)));
  });
});
