import type { VptqPart } from '@vptq/codebook/engine';
import { refitNormalChunkColumns, maxRefitNormalUnknowns } from '../refit-normal/refit-normal';
import { maxGpuVectorLength } from '../vptq-pass/plan-vptq-pass';

/** What {@link planGpuRefit} needs to know about a device. */
export interface GpuRefitLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

/** Tuning of the GPU refit (see `GpuRefitOptions`), with its defaults filled in. */
export interface GpuRefitTuning {
  readonly solver: 'auto' | 'dense' | 'cg';
  readonly maxDenseUnknowns: number;
  /** The caller's cap on CG iterations; undefined: each block's default (see {@link GpuRefitBlockPlan.cgIterations}). */
  readonly cgIterations: number | undefined;
  readonly cgTolerance: number;
  readonly sweeps: number;
}

/** One block of parts solved together (see `refitCodebooks`): its columns, slots and solver. */
export interface GpuRefitBlockPlan {
  readonly partIndices: readonly number[];
  /** Column range [start, end) in quantization order. */
  readonly start: number;
  readonly end: number;
  readonly width: number;
  readonly vectorLength: number;
  readonly vectorRows: number;
  /** Real rows of the last vector: codebook columns j < filled see all R vector rows, the others R − 1. */
  readonly filled: number;
  /** Slots n: K + Kr summed over the block's parts. */
  readonly unknowns: number;
  /** First slot of each part (its main entries, then its residual entries). */
  readonly partOffsets: readonly number[];
  readonly hasResidual: boolean;
  /** List entries: one per vector and kind (main, residual). */
  readonly entryCount: number;
  readonly solver: 'dense' | 'cg';
  /** Elements between the full and the cut matrix of a dense block (n² rounded up to 64: 256-byte offsets). */
  readonly matrixStride: number;
  /** Matrices per dense buffer: 2 with a cut (filled < v), else 1. */
  readonly matrixCount: number;
  /** Iterations recorded between two readbacks of the convergence flags. */
  readonly checkInterval: number;
  /**
   * Most CG iterations per solve: the caller's `cgIterations`, else 100 (as the CPU's), or {@link largeCgIterations}
   * where one product is a large GEMM (out·w² ≥ {@link largeProduct}).
   */
  readonly cgIterations: number;
}

/** The layout of a layer's refit on the GPU; pure, so it is tested without a device. */
export interface GpuRefitPlan {
  readonly blocks: readonly GpuRefitBlockPlan[];
  /** Alternations between the blocks (1 with one block). */
  readonly sweeps: number;
  /** Widest block: the product buffer Y is `[maxWidth, rows]`. */
  readonly maxWidth: number;
}

/**
 * Dense blocks are preconditioned by a Cholesky factor and reach the f32 floor in about 2 iterations (measured on
 * random and BabyLlama layers): read the flags every 2, since each iteration costs a product through H̃.
 */
const denseCheckInterval = 2;
/** A matrix-free iteration costs a GEMM: read the flags every few iterations, a readback is cheap next to them. */
const cgCheckInterval = 8;
/**
 * out·w² multiply-adds from which one matrix-free product is a large GEMM (2³², ~0.5 ms on an H100): there `'auto'`
 * solves by CG and the default iteration cap is {@link largeCgIterations}.
 */
const largeProduct = 2 ** 32;
/**
 * Default CG iterations of a block whose products are large: 25 keep 98–99.7% of the exact refit's decrease (BabyLlama,
 * kernels-webgpu README) and the same proxy error to 5e-6 relative at 4096 × 4096, at a quarter of 100's cost.
 */
const largeCgIterations = 25;
/** Default CG iterations elsewhere, as the CPU refit's. */
const defaultCgIterations = 100;

/**
 * Plans a layer's refit: the blocks as the CPU refit forms them (all parts with the last part's vector length
 * together, an outlier part of another length apart), each block's solver, and the checks of every buffer against
 * the device. `'auto'` takes the dense solver (exact normal matrix, Cholesky-preconditioned CG) when the block has at
 * most `maxDenseUnknowns` slots, its matrices fit one binding, and the factorizations (n³/3 multiply-adds each) and
 * the normal matrix (R·w² adds per chunk of columns) cost less than `cgIterations` matrix-free products (out·w²
 * multiply-adds each), and a product is not a large GEMM (out·w² < 2³²: on an H100 the matrix-free solve measured
 * 2.5–3× faster at the 7B layer shapes, where the flop count calls dense cheaper); else the matrix-free
 * Jacobi-preconditioned CG.
 *
 * @throws {RangeError} naming the parameter or device limit: parts that do not tile the columns, v above 16, a
 *   tuning value out of range, `solver: 'dense'` for a block that cannot be dense, or a buffer above
 *   `maxStorageBufferBindingSize`/`maxBufferSize`.
 */
export function planGpuRefit(
  fn: string,
  layer: { readonly rows: number; readonly cols: number; readonly parts: readonly VptqPart[] },
  limits: GpuRefitLimits,
  tuning: GpuRefitTuning,
): GpuRefitPlan {
  const { rows, cols, parts } = layer;
  let column = 0;
  parts.forEach((part, index) => {
    if (part.start !== column || !(part.size >= 1)) {
      throw new RangeError(`${fn}: layer.parts must tile the columns in order (part ${index} starts at ${part.start}, expected ${column})`);
    }
    if (!Number.isInteger(part.vectorLength) || part.vectorLength < 1 || part.vectorLength > maxGpuVectorLength) {
      throw new RangeError(`${fn}: layer.parts[${index}].vectorLength must be between 1 and ${maxGpuVectorLength} (got ${part.vectorLength})`);
    }
    if (part.vectorRows !== Math.ceil(rows / part.vectorLength)) {
      throw new RangeError(`${fn}: layer.parts[${index}].vectorRows must be ceil(rows / vectorLength) = ${Math.ceil(rows / part.vectorLength)} (got ${part.vectorRows})`);
    }
    column += part.size;
  });
  if (column !== cols) throw new RangeError(`${fn}: layer.parts must cover the ${cols} columns (they cover ${column})`);
  const bindingLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const check = (what: string, bytes: number) => {
    if (bytes > bindingLimit) {
      throw new RangeError(
        `${fn}: ${what} takes ${bytes} bytes, above the device's maxStorageBufferBindingSize/maxBufferSize of ${bindingLimit}`,
      );
    }
  };
  check('the Hessian ([cols, cols] f32)', cols * cols * 4);
  check('the target times H ([cols, rows] f32)', cols * rows * 4);

  const last = parts[parts.length - 1].vectorLength;
  const groups = parts.map((_, index) => index).filter((index) => parts[index].vectorLength === last);
  const others = parts.map((_, index) => index).filter((index) => parts[index].vectorLength !== last);
  const blocks = (others.length > 0 ? [groups, others] : [groups]).map((partIndices) => {
    const first = parts[partIndices[0]];
    const end = parts[partIndices[partIndices.length - 1]].start + parts[partIndices[partIndices.length - 1]].size;
    // The block's parts must be consecutive columns (they are: the outlier part leads, the groups follow).
    if (partIndices.some((partIndex, position) => position > 0 && partIndex !== partIndices[position - 1] + 1)) {
      throw new RangeError(`${fn}: the parts of vector length ${first.vectorLength} must be consecutive columns`);
    }
    const width = end - first.start;
    const partOffsets: number[] = [];
    let unknowns = 0;
    for (const partIndex of partIndices) {
      partOffsets.push(unknowns);
      unknowns += parts[partIndex].numCentroids + parts[partIndex].numResidualCentroids;
    }
    const hasResidual = partIndices.some((partIndex) => parts[partIndex].numResidualCentroids > 0);
    const { vectorLength, vectorRows } = first;
    const filled = rows - (vectorRows - 1) * vectorLength;
    const entryCount = vectorRows * width * (hasResidual ? 2 : 1);
    check(`the slots of block ${first.start}–${end} ([R, width, 2] u32)`, vectorRows * width * 8);
    check(`the list entries of block ${first.start}–${end} (u32)`, entryCount * 4);
    const matrixCount = filled < vectorLength ? 2 : 1;
    const matrixStride = Math.ceil((unknowns * unknowns) / 64) * 64;
    const denseBytes = matrixStride * 4 * matrixCount;
    const denseFits = unknowns <= Math.min(tuning.maxDenseUnknowns, maxRefitNormalUnknowns) && denseBytes <= bindingLimit;
    // One matrix-free product (out·w² multiply-adds) is a large GEMM: the solver and the iteration cap depend on it.
    const largeGemm = rows * width * width >= largeProduct;
    let solver: 'dense' | 'cg';
    if (tuning.solver === 'dense') {
      if (!denseFits) {
        throw new RangeError(
          `${fn}: options.solver 'dense' needs every block within maxDenseUnknowns (${tuning.maxDenseUnknowns}) and its ${matrixCount} f32 matrices in one binding (got ${unknowns} unknowns, ${denseBytes} bytes, limit ${bindingLimit})`,
        );
      }
      solver = 'dense';
    } else if (tuning.solver === 'cg' || !denseFits) {
      solver = 'cg';
    } else if (largeGemm) {
      // Measured on an H100 (benchmarks/refit-profile.mjs, 2026-12-07): at 4096 × 4096 v6-k4096 a dense refit took
      // 0.51 s and 25 CG iterations 0.20 s (1.17 / 0.52 s at 11008 × 4096, 2.51 / 0.84 s at 4096 × 11008), at the
      // same proxy error to 5e-6 relative on a realistic layer: the flop count below calls dense cheaper there.
      solver = 'cg';
    } else {
      const chunks = Math.ceil(unknowns / refitNormalChunkColumns(limits, unknowns));
      const denseCost = matrixCount * unknowns ** 3 / 3 + chunks * vectorRows * width * width * (hasResidual ? 2 : 1);
      const cgCost = (tuning.cgIterations ?? defaultCgIterations) * rows * width * width;
      solver = denseCost <= cgCost ? 'dense' : 'cg';
    }
    const plan: GpuRefitBlockPlan = {
      partIndices,
      start: first.start,
      end,
      width,
      vectorLength,
      vectorRows,
      filled,
      unknowns,
      partOffsets,
      hasResidual,
      entryCount,
      solver,
      matrixStride,
      matrixCount,
      checkInterval: solver === 'dense' ? denseCheckInterval : cgCheckInterval,
      cgIterations: tuning.cgIterations ?? (largeGemm ? largeCgIterations : defaultCgIterations),
    };
    return plan;
  });
  return { blocks, sweeps: blocks.length > 1 ? tuning.sweeps : 1, maxWidth: Math.max(...blocks.map((block) => block.width)) };
}

/**
 * Reads the engine's options, filling in the defaults.
 *
 * @throws {RangeError} naming the option that is out of range.
 */
export function readGpuRefitTuning(fn: string, options: Partial<GpuRefitTuning>): GpuRefitTuning {
  const solver = options.solver ?? 'auto';
  if (solver !== 'auto' && solver !== 'dense' && solver !== 'cg') {
    throw new RangeError(`${fn}: options.solver must be 'auto', 'dense' or 'cg' (got ${String(solver)})`);
  }
  const integer = (name: keyof GpuRefitTuning, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${fn}: options.${name} must be an integer between ${min} and ${max} (got ${String(value)})`);
    }
    return value;
  };
  const cgTolerance = options.cgTolerance ?? 1e-6;
  if (typeof cgTolerance !== 'number' || !(cgTolerance >= 0 && cgTolerance < 1)) {
    throw new RangeError(`${fn}: options.cgTolerance must be in [0, 1) (got ${String(cgTolerance)})`);
  }
  return {
    solver,
    maxDenseUnknowns: integer('maxDenseUnknowns', options.maxDenseUnknowns ?? 8192, 1, maxRefitNormalUnknowns),
    cgIterations: options.cgIterations === undefined ? undefined : integer('cgIterations', options.cgIterations, 1, 100000),
    cgTolerance,
    sweeps: integer('sweeps', options.sweeps ?? 4, 1, 1000),
  };
}
