import type { FloatTensorDtype } from '@vptq/pack-format';

import { roundToStorage } from './storage-dtype';
import { choleskyFactor, choleskySolve, conjugateGradient } from './solve-spd';
import type { VptqPart } from './vptq-parts';
import type { VptqPartAssignment, VptqRefitResult } from './vptq-refit-engine';

/** The least-squares problem of {@link refitCodebooks}. Matrices are `[in, out]`, in quantization order. */
export interface RefitInput {
  /** `[in, out]` f32 target T: the weight in the units the codebooks live in (normalized when norm is on). */
  readonly target: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /**
   * `[in, in]` f64 symmetric positive definite weight of the objective, quantization order: D·H·D with
   * D = diag(norm scale) (H alone without norm), so that the objective is the output error in original units.
   */
  readonly hessian: Float64Array;
  readonly parts: readonly VptqPart[];
}

/** Settings of {@link refitCodebooks}. */
export interface RefitOptions {
  /** The refit codebooks are rounded to this dtype (ties to even) at the end. */
  readonly storageDtype: FloatTensorDtype;
  /**
   * `'dense'` (Cholesky of the normal matrix), `'cg'` (matrix-free conjugate gradients) or `'auto'`: dense when a
   * block has at most 4096 entries (K + Kr summed over its parts; 128 MB per f64 matrix) and the estimated cost
   * is lower, else CG. Default `'auto'`.
   */
  readonly solver?: 'auto' | 'dense' | 'cg';
  /** Alternations between the groups and the outlier part, which are coupled through H. Default 4. */
  readonly sweeps?: number;
  /** Most conjugate-gradient iterations per system. Default 100. */
  readonly cgIterations?: number;
}

/** Ridge, relative to the mean diagonal of a normal matrix, pulling the solution toward the current codebook. */
const relativeRidge = 1e-9;
const cgTolerance = 1e-8;
/** Largest block (K + Kr summed over its parts) the `'auto'` solver builds an n × n f64 matrix for: 128 MB. */
const maxDenseUnknowns = 4096;

/**
 * With every index fixed, the reconstruction `Q[c, o] = C_p[main, o mod v] (+ Cr_p[res, o mod v])` is linear in the
 * codebook entries, so `Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o)` (q_o, t_o = row o of Q and T over all columns, H̃ =
 * `input.hessian`) is a quadratic in them and its minimizer solves a linear least-squares problem. Rows o with
 * the same `o mod v` use only codebook column j = o mod v, so one system per j: unknowns x_j = column j of every
 * main and residual codebook of the block, normal matrix `M_j = Σ_o A_oᵀ·H̃·A_o` and right side
 * `Σ_o A_oᵀ·H̃·(t_o − fixed_o)`, where A_o puts x_j into row o (≤ 2 ones per column: its main and residual entry).
 * A vector's v rows share its indices, so M_j is the same for every j whose rows are all real; only the rows
 * of a zero-padded last vector make a second matrix. Both are built once from H̃ (O(R·w²) for w columns).
 *
 * Parts with the same vector length (all groups, and the outlier part when vo = v) form one block and are solved
 * exactly together. An outlier part with vo ≠ v is a second block, coupled to the first through the
 * off-diagonal of H̃: the two are solved alternately (`sweeps` times, each solve exact given the other block,
 * so the objective never rises; a few sweeps come close to the joint optimum).
 *
 * The dense solver factors M_j by Cholesky (one or two factors per block, reused by every j and sweep), with a
 * 1e-9 relative ridge toward the current codebook. The ridge pins the one direction M_j is singular along with a
 * residual codebook: every main entry of a group up by δ and every residual entry down by δ leaves every sum
 * unchanged. The CG solver runs matrix-free Jacobi-preconditioned conjugate gradients per j, started at the
 * current codebook (≤ `cgIterations` steps of O(R·w²) each; never above the start), which avoids the n × n
 * matrix: the choice for a large codebook over few columns, such as an outlier part with Ko = 4096. Entries no
 * vector uses have a zero row and keep their value exactly.
 *
 * @returns the refit codebooks, or undefined when the solve gave a non-finite value or a value that does not
 *   fit `storageDtype` (the caller keeps the codebooks it has).
 */
export function refitCodebooks(input: RefitInput, assignments: readonly VptqPartAssignment[], options: RefitOptions): VptqRefitResult | undefined {
  const { rows, cols, parts } = input;
  const solver = options.solver ?? 'auto';
  const cgIterations = options.cgIterations ?? 100;
  // f64 working copies, so sweeps do not round in between.
  const mains = assignments.map((assignment) => Float64Array.from(assignment.codebook));
  const residuals = assignments.map((assignment) =>
    assignment.residualCodebook === undefined ? undefined : Float64Array.from(assignment.residualCodebook),
  );
  const blocks = listBlocks(parts).map((partIndices) => buildBlock(input, assignments, partIndices));
  const solvers = blocks.map((block) => {
    const dense = solver === 'dense' || (solver === 'auto' && preferDense(block, maxDenseUnknowns, cgIterations));
    return dense ? denseSolvers(input, block) : cgSolvers(input, block, cgIterations);
  });
  if (solvers.some((entry) => entry === undefined)) return undefined;

  const reconstruction = new Float64Array(cols * rows);
  parts.forEach((_, partIndex) => reconstructPart(input, assignments[partIndex], mains[partIndex], residuals[partIndex], partIndex, reconstruction));
  const difference = new Float64Array(rows * cols);
  const sweeps = blocks.length > 1 ? (options.sweeps ?? 4) : 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    blocks.forEach((block, blockIndex) => {
      // t − fixed: the block's own columns count fully; the other block's columns only through its error.
      for (let c = 0; c < cols; c++) {
        const own = c >= block.start && c < block.end;
        for (let o = 0; o < rows; o++) {
          const value = input.target[c * rows + o];
          difference[o * cols + c] = own ? value : value - reconstruction[c * rows + o];
        }
      }
      solveBlock(input, block, difference, mains, residuals, solvers[blockIndex] as BlockSolvers);
      for (const partIndex of block.partIndices) {
        reconstructPart(input, assignments[partIndex], mains[partIndex], residuals[partIndex], partIndex, reconstruction);
      }
    });
  }

  const codebooks: Float32Array[] = [];
  const residualCodebooks: (Float32Array | undefined)[] = [];
  for (let partIndex = 0; partIndex < parts.length; partIndex++) {
    const main = toStorage(mains[partIndex], options.storageDtype);
    const residual = residuals[partIndex];
    const storedResidual = residual === undefined ? undefined : toStorage(residual, options.storageDtype);
    if (main === undefined || (residual !== undefined && storedResidual === undefined)) return undefined;
    codebooks.push(main);
    residualCodebooks.push(storedResidual);
  }
  return { codebooks, residualCodebooks };
}

/**
 * The parts solved together: those with the same vector length share every row's codebook column, so they form
 * one exact system; an outlier part with vo ≠ v is a block of its own. Parts are contiguous in column order, so
 * each block is a column range. The groups (the last part's block, most columns) come first, so the outlier
 * part is then fitted to their new error.
 */
function listBlocks(parts: readonly VptqPart[]): number[][] {
  const last = parts[parts.length - 1].vectorLength;
  const groups = parts.map((_, index) => index).filter((index) => parts[index].vectorLength === last);
  const others = parts.map((_, index) => index).filter((index) => parts[index].vectorLength !== last);
  return others.length > 0 ? [groups, others] : [groups];
}

interface Block {
  readonly partIndices: readonly number[];
  /** Column range [start, end) in quantization order. */
  readonly start: number;
  readonly end: number;
  readonly length: number;
  readonly vectorRows: number;
  /** Real rows of the last vector: codebook columns j < filled see all R vectors, the others R − 1. */
  readonly filled: number;
  readonly unknowns: number;
  /** `[R, end − start, 2]` unknown (slot) of the main and residual entry of every vector, −1 for none. */
  readonly slots: Int32Array;
  /** `[unknowns]` part, entry and whether residual, for reading and writing the codebooks. */
  readonly slotPart: Int32Array;
  readonly slotEntry: Int32Array;
  readonly slotResidual: Uint8Array;
}

function buildBlock(input: RefitInput, assignments: readonly VptqPartAssignment[], partIndices: readonly number[]): Block {
  const { rows, parts } = input;
  const first = parts[partIndices[0]];
  const last = parts[partIndices[partIndices.length - 1]];
  const start = first.start;
  const end = last.start + last.size;
  const width = end - start;
  const { vectorLength: length, vectorRows } = first;
  let unknowns = 0;
  const offsets = partIndices.map((partIndex) => {
    const offset = unknowns;
    unknowns += parts[partIndex].numCentroids + parts[partIndex].numResidualCentroids;
    return offset;
  });
  const slotPart = new Int32Array(unknowns);
  const slotEntry = new Int32Array(unknowns);
  const slotResidual = new Uint8Array(unknowns);
  const slots = new Int32Array(vectorRows * width * 2).fill(-1);
  partIndices.forEach((partIndex, position) => {
    const part = parts[partIndex];
    const offset = offsets[position];
    for (let k = 0; k < part.numCentroids + part.numResidualCentroids; k++) {
      slotPart[offset + k] = partIndex;
      slotResidual[offset + k] = k < part.numCentroids ? 0 : 1;
      slotEntry[offset + k] = k < part.numCentroids ? k : k - part.numCentroids;
    }
    const { indices, residualIndices } = assignments[partIndex];
    for (let r = 0; r < vectorRows; r++) {
      for (let local = 0; local < part.size; local++) {
        const slot = (r * width + part.start - start + local) * 2;
        slots[slot] = offset + indices[r * part.size + local];
        if (residualIndices !== undefined) slots[slot + 1] = offset + part.numCentroids + residualIndices[r * part.size + local];
      }
    }
  });
  const filled = rows - (vectorRows - 1) * length;
  return { partIndices, start, end, length, vectorRows, filled, unknowns, slots, slotPart, slotEntry, slotResidual };
}

/** Solves the system of codebook column j: `x` holds the current values (global slots) and receives the solution. */
type SolveColumn = (rhs: Float64Array, x: Float64Array) => void;

/** One solver for the columns whose rows are all real, one for those cut by the padded last vector. */
interface BlockSolvers {
  readonly full: SolveColumn;
  readonly cut: SolveColumn;
}

function denseSolvers(input: RefitInput, block: Block): BlockSolvers | undefined {
  const full = denseSolver(input, block, block.vectorRows);
  if (full === undefined) return undefined;
  if (block.filled === block.length) return { full, cut: full };
  const cut = denseSolver(input, block, block.vectorRows - 1);
  return cut === undefined ? undefined : { full, cut };
}

/** Adds Σ_{a,b} H̃[a, b] to M[slot(a), slot(b)] for the main and residual slots of vector row r. */
function addVectorRow(input: RefitInput, block: Block, r: number, matrix: Float64Array): void {
  const { cols, hessian } = input;
  const { start, end, slots, unknowns: n } = block;
  const width = end - start;
  const base = r * width * 2;
  for (let a = 0; a < width; a++) {
    const mainA = slots[base + a * 2];
    const residualA = slots[base + a * 2 + 1];
    const hessianRow = (start + a) * cols + start;
    const rowMain = mainA * n;
    const rowResidual = residualA * n;
    for (let b = 0; b < width; b++) {
      const h = hessian[hessianRow + b];
      const mainB = slots[base + b * 2];
      const residualB = slots[base + b * 2 + 1];
      matrix[rowMain + mainB] += h;
      if (residualB >= 0) matrix[rowMain + residualB] += h;
      if (residualA >= 0) {
        matrix[rowResidual + mainB] += h;
        if (residualB >= 0) matrix[rowResidual + residualB] += h;
      }
    }
  }
}

/**
 * Builds M over the first `vectorRows` vector rows, compacts it to its used rows and factors it with the ridge;
 * the solver maps the right side of used slots in and the solution out, leaving unused slots as they are.
 */
function denseSolver(input: RefitInput, block: Block, vectorRows: number): SolveColumn | undefined {
  const n = block.unknowns;
  const build = () => {
    const built = new Float64Array(n * n);
    for (let r = 0; r < vectorRows; r++) addVectorRow(input, block, r, built);
    return built;
  };
  let matrix = build();
  const used: number[] = [];
  let diagonalSum = 0;
  for (let i = 0; i < n; i++) {
    if (matrix[i * n + i] > 0) {
      used.push(i);
      diagonalSum += matrix[i * n + i];
    }
  }
  const size = used.length;
  if (size === 0) return () => undefined;
  const ridge = (relativeRidge * diagonalSum) / size;
  let compact = matrix;
  let appliedRidge = ridge;
  // A rounding-level negative pivot is possible for a nearly singular M; a larger ridge removes it. Rebuilding
  // instead of keeping a copy halves the peak memory (n² f64 per matrix).
  for (let attempt = 0; ; attempt++) {
    if (attempt === 4) return undefined;
    if (attempt > 0) matrix = build();
    // In-place compaction: used[i] ≥ i, so every read is at or after the position written.
    for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) matrix[a * size + b] = matrix[used[a] * n + used[b]];
    compact = matrix.subarray(0, size * size);
    appliedRidge = ridge * 1000 ** attempt;
    for (let i = 0; i < size; i++) compact[i * size + i] += appliedRidge;
    if (choleskyFactor(compact, size)) break;
  }
  const vector = new Float64Array(size);
  return (rhs, x) => {
    for (let i = 0; i < size; i++) vector[i] = rhs[used[i]] + appliedRidge * x[used[i]];
    choleskySolve(compact, size, vector);
    for (let i = 0; i < size; i++) x[used[i]] = vector[i];
  };
}

/**
 * Whether the dense path is cheaper: one or two factorizations (n³/3) and builds (4·R·w²) against
 * `cgIterations` matrix-free products (R·w² each) for every one of the v columns. A CG step was measured at about
 * twice its operation count relative to the Cholesky loop in V8, and an exact solve is worth a little more, hence
 * the factor 4. Above `maxUnknowns` the n² matrix is not built at all.
 */
function preferDense(block: Block, maxUnknowns: number, cgIterations: number): boolean {
  const n = block.unknowns;
  if (n > maxUnknowns) return false;
  const rowWork = block.vectorRows * (block.end - block.start) ** 2;
  const factors = block.filled < block.length ? 2 : 1;
  return factors * (n ** 3 / 3 + 4 * rowWork) <= 4 * cgIterations * block.length * rowWork;
}

function cgSolvers(input: RefitInput, block: Block, maxIterations: number): BlockSolvers {
  const { vectorRows, filled, length } = block;
  const n = block.unknowns;
  const cutDiagonal = new Float64Array(n);
  for (let r = 0; r < vectorRows - 1; r++) addVectorRowDiagonal(input, block, r, cutDiagonal);
  const fullDiagonal = cutDiagonal.slice();
  addVectorRowDiagonal(input, block, vectorRows - 1, fullDiagonal);
  const full = cgSolver(input, block, vectorRows, fullDiagonal, maxIterations);
  const cut = filled < length ? cgSolver(input, block, vectorRows - 1, cutDiagonal, maxIterations) : full;
  return { full, cut };
}

/** The diagonal of vector row r's contribution: H̃[a, b] summed over column pairs that share a slot. */
function addVectorRowDiagonal(input: RefitInput, block: Block, r: number, diagonal: Float64Array): void {
  const { cols, hessian } = input;
  const { start, end, slots } = block;
  const width = end - start;
  const base = r * width * 2;
  for (let a = 0; a < width; a++) {
    const hessianRow = (start + a) * cols + start;
    for (let b = 0; b < width; b++) {
      for (let kind = 0; kind < 2; kind++) {
        const slot = slots[base + a * 2 + kind];
        if (slot >= 0 && slot === slots[base + b * 2 + kind]) diagonal[slot] += hessian[hessianRow + b];
      }
    }
  }
}

function cgSolver(input: RefitInput, block: Block, vectorRows: number, diagonal: Float64Array, maxIterations: number): SolveColumn {
  const { cols, hessian } = input;
  const { start, end, slots, unknowns: n } = block;
  const width = end - start;
  let diagonalSum = 0;
  let usedCount = 0;
  for (let i = 0; i < n; i++) {
    if (diagonal[i] > 0) {
      diagonalSum += diagonal[i];
      usedCount++;
    }
  }
  const ridge = usedCount === 0 ? 1 : (relativeRidge * diagonalSum) / usedCount;
  const preconditioner = Float64Array.from(diagonal, (value) => value + ridge);
  const column = new Float64Array(width);
  const apply = (p: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) out[i] = ridge * p[i];
    for (let r = 0; r < vectorRows; r++) {
      const base = r * width * 2;
      for (let a = 0; a < width; a++) {
        const residual = slots[base + a * 2 + 1];
        column[a] = p[slots[base + a * 2]] + (residual >= 0 ? p[residual] : 0);
      }
      for (let a = 0; a < width; a++) {
        const hessianRow = (start + a) * cols + start;
        let sum = 0;
        for (let b = 0; b < width; b++) sum += hessian[hessianRow + b] * column[b];
        out[slots[base + a * 2]] += sum;
        const residual = slots[base + a * 2 + 1];
        if (residual >= 0) out[residual] += sum;
      }
    }
  };
  const shifted = new Float64Array(n);
  return (rhs, x) => {
    // Unused slots have A-row ridge·x and right side ridge·x, so their residual is 0 and they never move.
    for (let i = 0; i < n; i++) shifted[i] = rhs[i] + ridge * x[i];
    conjugateGradient(apply, preconditioner, shifted, x, { maxIterations, tolerance: cgTolerance });
  };
}

/** Builds every column's right side from `difference` (`[out, in]` f64, t − fixed), solves and writes back. */
function solveBlock(
  input: RefitInput,
  block: Block,
  difference: Float64Array,
  mains: Float64Array[],
  residuals: (Float64Array | undefined)[],
  solvers: BlockSolvers,
): void {
  const { rows, cols, hessian } = input;
  const { start, end, length, slots, unknowns: n, slotPart, slotEntry, slotResidual } = block;
  const width = end - start;
  const rhs = new Float64Array(length * n);
  for (let o = 0; o < rows; o++) {
    const r = Math.floor(o / length);
    const offset = (o % length) * n;
    const base = r * width * 2;
    const differenceRow = o * cols;
    for (let a = 0; a < width; a++) {
      const hessianRow = (start + a) * cols;
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += hessian[hessianRow + c] * difference[differenceRow + c];
      rhs[offset + slots[base + a * 2]] += sum;
      const residual = slots[base + a * 2 + 1];
      if (residual >= 0) rhs[offset + residual] += sum;
    }
  }
  const x = new Float64Array(n);
  for (let j = 0; j < length; j++) {
    for (let slot = 0; slot < n; slot++) x[slot] = codebookOf(slot)[slotEntry[slot] * length + j];
    (j < block.filled ? solvers.full : solvers.cut)(rhs.subarray(j * n, (j + 1) * n), x);
    for (let slot = 0; slot < n; slot++) codebookOf(slot)[slotEntry[slot] * length + j] = x[slot];
  }

  function codebookOf(slot: number): Float64Array {
    return slotResidual[slot] === 1 ? (residuals[slotPart[slot]] as Float64Array) : mains[slotPart[slot]];
  }
}

/** Writes part `partIndex`'s reconstruction (main + residual entries, padding dropped) into `[in, out]` `target`. */
function reconstructPart(
  input: RefitInput,
  assignment: VptqPartAssignment,
  main: Float64Array,
  residual: Float64Array | undefined,
  partIndex: number,
  target: Float64Array,
): void {
  const { rows } = input;
  const { start, size, vectorLength: length } = input.parts[partIndex];
  const { indices, residualIndices } = assignment;
  for (let local = 0; local < size; local++) {
    const offset = (start + local) * rows;
    for (let o = 0; o < rows; o++) {
      const r = Math.floor(o / length);
      const j = o % length;
      let value = main[indices[r * size + local] * length + j];
      if (residual !== undefined && residualIndices !== undefined) value += residual[residualIndices[r * size + local] * length + j];
      target[offset + o] = value;
    }
  }
}

/** `values` rounded to the storage dtype as f32, or undefined when one is not finite there. */
function toStorage(values: Float64Array, dtype: FloatTensorDtype): Float32Array | undefined {
  const stored = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = roundToStorage(values[i], dtype);
    if (!Number.isFinite(value)) return undefined;
    stored[i] = value;
  }
  return stored;
}
