import { createTestRng, randomFloats } from '@vptq/test-utils';
import { getVptqLayerLayout } from '@vptq/pack-format';
import { describe, expect, it } from 'vitest';

import { planVptqLayer } from './plan-vptq-layer';
import type { VptqLayoutOptions } from './plan-vptq-layer';
import { refitCodebooks } from './refit-codebooks';
import type { RefitInput, RefitOptions } from './refit-codebooks';
import type { VptqPartAssignment } from './vptq-refit-engine';
import { randomHessian } from './test/random-layer';
import { listParts } from './vptq-parts';
import type { VptqPart } from './vptq-parts';

const rows = 10; // v = 4: R = 3 with a last vector of 2 real rows; vo = 3: Ro = 4 with 1 real row
const cols = 14;
const hessian = randomHessian(cols, 5);

interface Problem {
  readonly input: RefitInput;
  readonly assignments: VptqPartAssignment[];
}

/** Random target, codebooks and indices for a layout; `unused` entries of part 0's main codebook get no vector. */
function problem(layout: VptqLayoutOptions, seed: number, unused: readonly number[] = []): Problem {
  const parts = listParts(getVptqLayerLayout(planVptqLayer(rows, cols, layout)));
  const next = createTestRng(seed);
  const pick = (count: number, avoid: readonly number[]) => {
    for (;;) {
      const index = Math.floor(next() * count);
      if (!avoid.includes(index)) return index;
    }
  };
  const assignments = parts.map((part, partIndex): VptqPartAssignment => {
    const entries = part.vectorRows * part.size;
    const avoid = partIndex === 0 ? unused : [];
    const codebook = randomFloats(part.numCentroids * part.vectorLength, seed + 10 + partIndex, 1);
    const indices = Uint16Array.from({ length: entries }, () => pick(part.numCentroids, avoid));
    if (part.numResidualCentroids === 0) return { codebook, indices };
    return {
      codebook,
      indices,
      residualCodebook: randomFloats(part.numResidualCentroids * part.vectorLength, seed + 20 + partIndex, 0.2),
      residualIndices: Uint16Array.from({ length: entries }, () => pick(part.numResidualCentroids, [])),
    };
  });
  const target = randomFloats(cols * rows, seed + 1, 1);
  return { input: { target, rows, cols, hessian, parts }, assignments };
}

/** Σ_o (q_o − t_o)ᵀ·H·(q_o − t_o) in f64, straight from the definition. */
function objective(input: RefitInput, assignments: readonly VptqPartAssignment[], codebooks: readonly Float32Array[], residuals: readonly (Float32Array | undefined)[]): number {
  const error = new Float64Array(rows * cols);
  input.parts.forEach((part, partIndex) => {
    const { indices, residualIndices } = assignments[partIndex];
    for (let local = 0; local < part.size; local++) {
      const c = part.start + local;
      for (let o = 0; o < rows; o++) {
        const entry = Math.floor(o / part.vectorLength) * part.size + local;
        const j = o % part.vectorLength;
        let value = codebooks[partIndex][indices[entry] * part.vectorLength + j];
        const residual = residuals[partIndex];
        if (residual !== undefined && residualIndices !== undefined) value += residual[residualIndices[entry] * part.vectorLength + j];
        error[o * cols + c] = value - input.target[c * rows + o];
      }
    }
  });
  let sum = 0;
  for (let o = 0; o < rows; o++) {
    for (let a = 0; a < cols; a++) {
      for (let b = 0; b < cols; b++) sum += error[o * cols + a] * input.hessian[a * cols + b] * error[o * cols + b];
    }
  }
  return sum;
}

/**
 * The optimum by brute force: every codebook entry of every part and column j is one unknown of a single dense
 * least-squares problem, built row by row from A_o (in × N) and solved by Gaussian elimination with a tiny ridge
 * (for the main/residual shift that leaves every sum unchanged).
 */
function bruteForce({ input, assignments }: Problem): { codebooks: Float32Array[]; residuals: (Float32Array | undefined)[] } {
  const offsets: number[] = [];
  let unknowns = 0;
  for (const part of input.parts) {
    offsets.push(unknowns);
    unknowns += (part.numCentroids + part.numResidualCentroids) * part.vectorLength;
  }
  const matrix = new Float64Array(unknowns * unknowns);
  const rhs = new Float64Array(unknowns);
  const design = new Float64Array(cols * unknowns);
  for (let o = 0; o < rows; o++) {
    design.fill(0);
    input.parts.forEach((part: VptqPart, partIndex) => {
      const { indices, residualIndices } = assignments[partIndex];
      const j = o % part.vectorLength;
      for (let local = 0; local < part.size; local++) {
        const entry = Math.floor(o / part.vectorLength) * part.size + local;
        const c = part.start + local;
        design[c * unknowns + offsets[partIndex] + indices[entry] * part.vectorLength + j] += 1;
        if (residualIndices !== undefined) {
          design[c * unknowns + offsets[partIndex] + (part.numCentroids + residualIndices[entry]) * part.vectorLength + j] += 1;
        }
      }
    });
    for (let a = 0; a < cols; a++) {
      for (let b = 0; b < cols; b++) {
        const h = input.hessian[a * cols + b];
        if (h === 0) continue;
        for (let x = 0; x < unknowns; x++) {
          const left = design[a * unknowns + x];
          if (left === 0) continue;
          rhs[x] += left * h * input.target[b * rows + o];
          for (let y = 0; y < unknowns; y++) matrix[x * unknowns + y] += left * h * design[b * unknowns + y];
        }
      }
    }
  }
  for (let i = 0; i < unknowns; i++) matrix[i * unknowns + i] += 1e-9;
  const solution = gaussianSolve(matrix, rhs, unknowns);
  const codebooks: Float32Array[] = [];
  const residuals: (Float32Array | undefined)[] = [];
  input.parts.forEach((part, partIndex) => {
    const at = (k: number) => solution[offsets[partIndex] + k];
    codebooks.push(Float32Array.from({ length: part.numCentroids * part.vectorLength }, (_, k) => at(k)));
    const residualStart = part.numCentroids * part.vectorLength;
    residuals.push(
      part.numResidualCentroids === 0 ? undefined : Float32Array.from({ length: part.numResidualCentroids * part.vectorLength }, (_, k) => at(residualStart + k)),
    );
  });
  return { codebooks, residuals };
}

function gaussianSolve(matrix: Float64Array, rhs: Float64Array, n: number): Float64Array {
  const a = matrix.slice();
  const b = rhs.slice();
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[pivot * n + k])) pivot = i;
    for (let j = 0; j < n; j++) [a[k * n + j], a[pivot * n + j]] = [a[pivot * n + j], a[k * n + j]];
    [b[k], b[pivot]] = [b[pivot], b[k]];
    for (let i = k + 1; i < n; i++) {
      const factor = a[i * n + k] / a[k * n + k];
      for (let j = k; j < n; j++) a[i * n + j] -= factor * a[k * n + j];
      b[i] -= factor * b[k];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let j = i + 1; j < n; j++) sum -= a[i * n + j] * x[j];
    x[i] = sum / a[i * n + i];
  }
  return x;
}

const residualGroups: VptqLayoutOptions = { vectorLength: 4, numCentroids: 4, numResidualCentroids: 4, groupNum: 2 };
const withOutliers: VptqLayoutOptions = { ...residualGroups, outlierPercent: 10, outlierVectorLength: 3, numOutlierCentroids: 4 };
const f32: RefitOptions = { storageDtype: 'F32' };

function refit(p: Problem, options: RefitOptions = f32) {
  const result = refitCodebooks(p.input, p.assignments, options);
  if (result === undefined) throw new Error('refit failed');
  return result;
}

const start = (p: Problem) =>
  objective(
    p.input,
    p.assignments,
    p.assignments.map((a) => a.codebook),
    p.assignments.map((a) => a.residualCodebook),
  );

describe('refitCodebooks', () => {
  it('reaches the brute-force least-squares optimum (groups, residual, padded last vector)', () => {
    const p = problem(residualGroups, 1);
    const { codebooks, residualCodebooks } = refit(p);
    const best = bruteForce(p);
    const optimum = objective(p.input, p.assignments, best.codebooks, best.residuals);
    const reached = objective(p.input, p.assignments, codebooks, residualCodebooks);
    expect(reached).toBeLessThan(0.5 * start(p));
    expect(Math.abs(reached - optimum)).toBeLessThan(1e-6 * optimum);
  });

  it('is a minimum: moving any used entry either way raises the objective', () => {
    const p = problem({ vectorLength: 4, numCentroids: 8, numResidualCentroids: 2, groupNum: 2 }, 2);
    const { codebooks, residualCodebooks } = refit(p);
    const reached = objective(p.input, p.assignments, codebooks, residualCodebooks);
    // Entry (k, j) counts when a vector with a real row j uses k; the padded rows j ≥ 2 of the last vector do not.
    const usedBy = (indices: ArrayLike<number>, size: number, k: number, j: number) => Array.from(indices).some((index, entry) => index === k && (Math.floor(entry / size) < 2 || j < 2));
    let raised = 0;
    let flat = 0;
    p.input.parts.forEach((part, partIndex) => {
      const { indices, residualIndices } = p.assignments[partIndex];
      const kinds = [
        { values: codebooks[partIndex], indices },
        { values: residualCodebooks[partIndex] as Float32Array, indices: residualIndices as ArrayLike<number> },
      ];
      for (const { values, indices: used } of kinds) {
        for (let i = 0; i < values.length; i++) {
          const kept = values[i];
          const inUse = usedBy(used, part.size, Math.floor(i / 4), i % 4);
          for (const step of [-1e-2, 1e-2]) {
            values[i] = kept + step;
            const moved = objective(p.input, p.assignments, codebooks, residualCodebooks);
            if (inUse) {
              expect(moved).toBeGreaterThan(reached);
              raised++;
            } else {
              expect(moved).toBe(reached);
              flat++;
            }
          }
          values[i] = kept;
        }
      }
    });
    expect(raised + flat).toBe(2 * 2 * (8 * 4 + 2 * 4));
    expect(raised).toBeGreaterThan(flat);
  });

  it('alternates with an outlier part of another vector length toward the joint optimum, never rising', () => {
    const p = problem(withOutliers, 3);
    expect(p.input.parts[0].vectorLength).toBe(3);
    const best = bruteForce(p);
    const optimum = objective(p.input, p.assignments, best.codebooks, best.residuals);
    const reached = (sweeps: number) => {
      const result = refit(p, { ...f32, sweeps });
      return objective(p.input, p.assignments, result.codebooks, result.residualCodebooks);
    };
    const one = reached(1);
    const four = reached(4);
    const many = reached(200);
    expect(one).toBeLessThan(start(p));
    expect(four).toBeLessThanOrEqual(one * (1 + 1e-9));
    expect(many).toBeLessThanOrEqual(four * (1 + 1e-9));
    expect(Math.abs(many - optimum)).toBeLessThan(1e-5 * optimum);
  });

  it('solves an outlier part with the same vector length jointly with the groups', () => {
    const p = problem({ ...withOutliers, outlierVectorLength: 4 }, 4);
    const best = bruteForce(p);
    const optimum = objective(p.input, p.assignments, best.codebooks, best.residuals);
    const result = refit(p, { ...f32, sweeps: 1 });
    expect(Math.abs(objective(p.input, p.assignments, result.codebooks, result.residualCodebooks) - optimum)).toBeLessThan(1e-6 * optimum);
  });

  it('gives the same optimum with conjugate gradients as with the dense Cholesky', () => {
    for (const layout of [residualGroups, withOutliers]) {
      const p = problem(layout, 5);
      const dense = refit(p, { ...f32, sweeps: 50, solver: 'dense' });
      const cg = refit(p, { ...f32, sweeps: 50, solver: 'cg' });
      const denseValue = objective(p.input, p.assignments, dense.codebooks, dense.residualCodebooks);
      const cgValue = objective(p.input, p.assignments, cg.codebooks, cg.residualCodebooks);
      expect(Math.abs(cgValue - denseValue)).toBeLessThan(1e-6 * denseValue);
    }
  });

  it("picks CG on its own only for a large codebook over few columns", () => {
    const small = problem(residualGroups, 9);
    expect(refit(small)).toEqual(refit(small, { ...f32, solver: 'dense' }));
    expect(refit(small)).not.toEqual(refit(small, { ...f32, solver: 'cg', cgIterations: 3 }));
    // 64 entries for 2 columns: the 64 × 64 factor costs more than CG's products over 5 × 2 × 2 values.
    const part = { start: 0, size: 2, vectorLength: 2, vectorRows: 5, numCentroids: 64, numResidualCentroids: 0 };
    const wide: Problem = {
      input: { target: randomFloats(2 * rows, 3, 1), rows, cols: 2, hessian: randomHessian(2, 3), parts: [part] },
      assignments: [{ codebook: randomFloats(128, 4, 1), indices: Uint16Array.from({ length: 10 }, (_, i) => i * 5) }],
    };
    // One CG step stops short of the optimum, which tells the two solvers apart.
    const oneStep = { ...f32, cgIterations: 1 };
    expect(refit(wide, oneStep)).toEqual(refit(wide, { ...oneStep, solver: 'cg' }));
    expect(refit(wide, oneStep)).not.toEqual(refit(wide, { ...oneStep, solver: 'dense' }));
  });

  it('keeps entries that no vector uses unchanged, bit for bit', () => {
    const p = problem({ vectorLength: 4, numCentroids: 8 }, 6, [2, 5]);
    for (const solver of ['dense', 'cg'] as const) {
      const { codebooks } = refit(p, { ...f32, solver });
      const original = p.assignments[0].codebook;
      for (const entry of [2, 5]) {
        expect(codebooks[0].subarray(entry * 4, entry * 4 + 4)).toEqual(original.subarray(entry * 4, entry * 4 + 4));
      }
      expect(codebooks[0].subarray(0, 4)).not.toEqual(original.subarray(0, 4));
    }
  });

  it('rounds to the storage dtype and is deterministic', () => {
    const p = problem(withOutliers, 7);
    const first = refit(p, { storageDtype: 'BF16' });
    const again = refit(p, { storageDtype: 'BF16' });
    expect(again).toEqual(first);
    for (const values of [...first.codebooks, ...(first.residualCodebooks.filter(Boolean) as Float32Array[])]) {
      for (const value of values) {
        const bits = new Uint32Array(Float32Array.of(value).buffer)[0];
        expect(bits & 0xffff).toBe(0);
      }
    }
  });

  it('returns undefined when a refit entry does not fit the storage dtype', () => {
    const p = problem({ vectorLength: 4, numCentroids: 4 }, 8);
    const huge = { ...p, input: { ...p.input, target: p.input.target.map((value) => value * 1e6) } };
    expect(refitCodebooks(huge.input, huge.assignments, { storageDtype: 'F32' })).toBeDefined();
    expect(refitCodebooks(huge.input, huge.assignments, { storageDtype: 'F16' })).toBeUndefined();
  });
});
