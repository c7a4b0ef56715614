import type { VptqPart, VptqPartAssignment, VptqRefitLayer } from '@vptq/codebook/engine';
import { createTestRng } from '@vptq/test-utils';


/** A part layout: the outlier part (if `outlier`), then `groups` groups. */
export interface RefitProblemLayout {
  readonly rows: number;
  readonly cols: number;
  readonly vectorLength: number;
  readonly numCentroids: number;
  readonly numResidualCentroids?: number;
  readonly groups?: number;
  readonly outlier?: { readonly size: number; readonly vectorLength: number; readonly numCentroids: number };
}

/** Random test input of a refit: an SPD Hessian of correlated features, a target, codebooks and indices. */
export interface RefitProblem {
  /** A host layer (its Hessian an f64 array, pre-scaled). */
  readonly layer: VptqRefitLayer & { readonly hessian: Float64Array };
  readonly assignments: VptqPartAssignment[];
}

/** The parts of a layout (the same shape `listParts` of @vptq/codebook gives). */
export function refitParts(layout: RefitProblemLayout): VptqPart[] {
  const { rows, cols, vectorLength, numCentroids } = layout;
  const groups = layout.groups ?? 1;
  const parts: VptqPart[] = [];
  let start = 0;
  if (layout.outlier !== undefined) {
    const { size, vectorLength: length, numCentroids: count } = layout.outlier;
    parts.push({ start: 0, size, vectorLength: length, vectorRows: Math.ceil(rows / length), numCentroids: count, numResidualCentroids: 0 });
    start = size;
  }
  const size = (cols - start) / groups;
  for (let group = 0; group < groups; group++) {
    parts.push({
      start: start + group * size,
      size,
      vectorLength,
      vectorRows: Math.ceil(rows / vectorLength),
      numCentroids,
      numResidualCentroids: layout.numResidualCentroids ?? 0,
    });
  }
  return parts;
}

/**
 * A random SPD `[size, size]` f64 matrix XᵀX/n + 1e-3·I of correlated features with different scales (real
 * Hessians are correlated, so the off-diagonal terms matter).
 */
export function randomSpd(size: number, seed: number, samples = 3 * size): Float64Array {
  const next = createTestRng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const scales = Float64Array.from({ length: size }, () => 0.3 + 2 * next());
  const inputs = new Float64Array(samples * size);
  for (let s = 0; s < samples; s++) {
    const shared = gaussian();
    for (let i = 0; i < size; i++) inputs[s * size + i] = (0.6 * shared + gaussian()) * scales[i];
  }
  const matrix = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = i; j < size; j++) {
      let sum = 0;
      for (let s = 0; s < samples; s++) sum += inputs[s * size + i] * inputs[s * size + j];
      matrix[i * size + j] = matrix[j * size + i] = sum / samples + (i === j ? 1e-3 : 0);
    }
  }
  return matrix;
}

/**
 * Random problem of a layout: target in [−1, 1), codebooks near it, indices uniform over the entries except `unused`
 * entries of part `unusedPart`'s main codebook (which no vector gets).
 */
export function refitProblem(layout: RefitProblemLayout, seed: number, options: { unused?: readonly number[]; unusedPart?: number; storageDtype?: 'F32' | 'F16' | 'BF16' } = {}): RefitProblem {
  const { rows, cols } = layout;
  const parts = refitParts(layout);
  const next = createTestRng(seed);
  const target = Float32Array.from({ length: rows * cols }, () => next() * 2 - 1);
  const hessian = randomSpd(cols, seed + 1);
  const unused = options.unused ?? [];
  const assignments = parts.map((part, partIndex): VptqPartAssignment => {
    const count = part.vectorRows * part.size;
    const avoid = partIndex === (options.unusedPart ?? parts.length - 1) ? unused : [];
    const pick = (entries: number) => {
      for (;;) {
        const index = Math.floor(next() * entries);
        if (!avoid.includes(index)) return index;
      }
    };
    const codebook = Float32Array.from({ length: part.numCentroids * part.vectorLength }, () => next() * 2 - 1);
    const picked = Array.from({ length: count }, () => pick(part.numCentroids));
    const indices = part.numCentroids <= 65536 ? Uint16Array.from(picked) : Uint32Array.from(picked);
    if (part.numResidualCentroids === 0) return { codebook, indices };
    const residualCodebook = Float32Array.from({ length: part.numResidualCentroids * part.vectorLength }, () => 0.2 * (next() - 0.5));
    const residualIndices = Uint16Array.from({ length: count }, () => Math.floor(next() * part.numResidualCentroids));
    return { codebook, indices, residualCodebook, residualIndices };
  });
  return { layer: { target, rows, cols, hessian, parts, storageDtype: options.storageDtype ?? 'F32' }, assignments };
}

/**
 * `Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o)` in f64 for codebooks with the problem's indices: the refit's objective, to
 * compare solutions by what they minimize.
 */
export function refitObjective(problem: RefitProblem, codebooks: readonly Float32Array[], residualCodebooks: readonly (Float32Array | undefined)[]): number {
  const { layer, assignments } = problem;
  const { rows, cols, hessian, target, parts } = layer;
  const difference = new Float64Array(rows * cols);
  parts.forEach((part, partIndex) => {
    const { indices, residualIndices } = assignments[partIndex];
    const residual = residualCodebooks[partIndex];
    for (let local = 0; local < part.size; local++) {
      const column = part.start + local;
      for (let o = 0; o < rows; o++) {
        const r = Math.floor(o / part.vectorLength);
        const j = o % part.vectorLength;
        let value = codebooks[partIndex][indices[r * part.size + local] * part.vectorLength + j];
        if (residual !== undefined && residualIndices !== undefined) value += residual[residualIndices[r * part.size + local] * part.vectorLength + j];
        difference[o * cols + column] = value - target[column * rows + o];
      }
    }
  });
  let total = 0;
  for (let o = 0; o < rows; o++) {
    for (let a = 0; a < cols; a++) {
      let sum = 0;
      for (let b = 0; b < cols; b++) sum += hessian[a * cols + b] * difference[o * cols + b];
      total += difference[o * cols + a] * sum;
    }
  }
  return total;
}
