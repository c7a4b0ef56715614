import { describe, expect, it } from 'vitest';

import { buildRefitTables, noSlot, refitDiagonals, refitRidge } from './build-refit-tables';
import { planGpuRefit, readGpuRefitTuning } from './plan-gpu-refit';
import { refitProblem } from './test/refit-problem';

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
