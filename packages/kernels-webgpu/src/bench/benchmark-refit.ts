import type { VptqPartAssignment, VptqRefitLayer } from '@vptq/codebook/engine';
import { createRandom } from '@vptq/kmeans';

import { buildRefitTables, refitDiagonals } from '../vptq-refit/build-refit-tables';
import { createGpuRefitEngine } from '../vptq-refit/create-gpu-refit-engine';
import type { GpuRefitOptions } from '../vptq-refit/create-gpu-refit-engine';
import { planGpuRefit, readGpuRefitTuning } from '../vptq-refit/plan-gpu-refit';

/** One layer shape and codebook layout to time the GPU codebook refit on (one group, no outliers). */
export interface RefitBenchmarkCase {
  /** Output rows (out). */
  readonly rows: number;
  /** Input columns (in). */
  readonly cols: number;
  readonly vectorLength: number;
  readonly numCentroids: number;
  /** Kr, default 0. */
  readonly numResidualCentroids?: number;
}

/** Options of {@link benchmarkRefit}. */
export interface BenchmarkRefitOptions {
  /** Default {@link refitTargets}. */
  readonly cases?: readonly RefitBenchmarkCase[];
  /**
   * Engine options to compare, each run on every case. Default `[{}]` (auto: matrix-free CG with 25 iterations for
   * both targets, whose products are large GEMMs; `{ solver: 'dense' }` for the exact solve). `{ cgTolerance: 0 }`
   * makes every solve run its `cgIterations`: the synthetic Hessian converges faster than a real one.
   */
  readonly engines?: readonly GpuRefitOptions[];
  /** Timed refits after the first, default 2. */
  readonly refits?: number;
}

/** Times of one case × engine, in milliseconds. */
export interface RefitBenchmarkRow {
  /** `rows×cols v-k[-kr]`. */
  readonly layer: string;
  readonly engine: GpuRefitOptions;
  /** Per block: the solver and preconditioner the refit used, and the CG iterations it recorded. */
  readonly solvers: readonly string[];
  readonly iterations: readonly number[];
  /** Slots of the (one) block: K + Kr. */
  readonly unknowns: number;
  /** Upload of the layer, S₀ = T·H̃ (one GEMM of rows × cols × cols) and every buffer and pipeline. */
  readonly openMs: number;
  /** The host's share of one refit: slot tables, lists and the f64 diagonal (JavaScript, one thread). */
  readonly tablesMs: number;
  /** The first refit (pipelines compiled at open; this one includes first-use costs). */
  readonly firstRefitMs: number;
  /** Each warm refit: tables, uploads, normal matrix and factorization (dense), CG, readback, storage rounding. */
  readonly refitMs: readonly number[];
}

/** The issue's targets: 4096×4096 at v6-k4096 and 14336×4096 at v8-k65536 with a 256-entry residual codebook. */
export const refitTargets: readonly RefitBenchmarkCase[] = [
  { rows: 4096, cols: 4096, vectorLength: 6, numCentroids: 4096 },
  { rows: 14336, cols: 4096, vectorLength: 8, numCentroids: 65536, numResidualCentroids: 256 },
];

/**
 * Times the GPU codebook refit (`createGpuRefitEngine`) on synthetic layers: random target and codebooks, uniform
 * random indices, and an SPD H̃ = diag + rank-8 correlated part (O(n²) to build, moderately conditioned). The normal
 * matrix, the products and the gathers cost the same for any values; the number of CG iterations depends on them,
 * so each row reports it. A quantizer runs up to `refineIterations` refits per layer (16 by default).
 */
export async function benchmarkRefit(device: GPUDevice, options: BenchmarkRefitOptions = {}): Promise<RefitBenchmarkRow[]> {
  const rows: RefitBenchmarkRow[] = [];
  const warm = options.refits ?? 2;
  if (!Number.isInteger(warm) || warm < 0) throw new RangeError(`benchmarkRefit: refits must be an integer ≥ 0 (got ${warm})`);
  for (const benchmarkCase of options.cases ?? refitTargets) {
    const { layer, assignments } = syntheticRefit(benchmarkCase);
    for (const engineOptions of options.engines ?? [{}]) {
      const plan = planGpuRefit('benchmarkRefit', layer, device.limits, readGpuRefitTuning('benchmarkRefit', engineOptions));
      let started = performance.now();
      for (const block of plan.blocks) refitDiagonals(block, layer.hessian, layer.cols, buildRefitTables('benchmarkRefit', block, layer.parts, assignments));
      const tablesMs = performance.now() - started;
      started = performance.now();
      const session = await createGpuRefitEngine(device, engineOptions).openLayer(layer);
      const openMs = performance.now() - started;
      try {
        started = performance.now();
        await session.refit({ assignments });
        const firstRefitMs = performance.now() - started;
        const refitMs: number[] = [];
        for (let refit = 0; refit < warm; refit++) {
          started = performance.now();
          await session.refit({ assignments });
          refitMs.push(performance.now() - started);
        }
        const last = session.lastRefit;
        const { rows: out, cols, vectorLength, numCentroids, numResidualCentroids = 0 } = benchmarkCase;
        rows.push({
          layer: `${out}×${cols} v${vectorLength}-k${numCentroids}${numResidualCentroids > 0 ? `-${numResidualCentroids}` : ''}`,
          engine: engineOptions,
          solvers: last.solvers.map((solver, index) => `${solver}/${last.preconditioners[index]}`),
          iterations: last.iterations,
          unknowns: plan.blocks[0].unknowns,
          openMs,
          tablesMs,
          firstRefitMs,
          refitMs,
        });
      } finally {
        session.close();
      }
    }
  }
  return rows;
}

function syntheticRefit(benchmarkCase: RefitBenchmarkCase): { layer: VptqRefitLayer & { readonly hessian: Float64Array }; assignments: VptqPartAssignment[] } {
  const { rows, cols, vectorLength, numCentroids } = benchmarkCase;
  const residual = benchmarkCase.numResidualCentroids ?? 0;
  const random = createRandom(11);
  const vectorRows = Math.ceil(rows / vectorLength);
  const target = Float32Array.from({ length: rows * cols }, () => random() * 2 - 1);
  // diag in [0.5, 1.5) plus Σ_i u_i·u_iᵀ of 8 random directions scaled to 0.5/cols: SPD, off-diagonals that matter.
  const hessian = new Float64Array(cols * cols);
  for (let c = 0; c < cols; c++) hessian[c * cols + c] = 0.5 + random();
  const direction = new Float64Array(cols);
  for (let rank = 0; rank < 8; rank++) {
    for (let c = 0; c < cols; c++) direction[c] = (random() - 0.5) * Math.sqrt(2 / cols);
    for (let a = 0; a < cols; a++) for (let b = 0; b < cols; b++) hessian[a * cols + b] += direction[a] * direction[b];
  }
  const count = vectorRows * cols;
  const indices = numCentroids <= 65536 ? new Uint16Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) indices[i] = Math.floor(random() * numCentroids);
  const codebook = Float32Array.from({ length: numCentroids * vectorLength }, () => random() * 2 - 1);
  const part = { start: 0, size: cols, vectorLength, vectorRows, numCentroids, numResidualCentroids: residual };
  const layer = { target, rows, cols, hessian, parts: [part], storageDtype: 'F32' as const };
  if (residual === 0) return { layer, assignments: [{ codebook, indices }] };
  const residualIndices = Uint16Array.from({ length: count }, () => Math.floor(random() * residual));
  const residualCodebook = Float32Array.from({ length: residual * vectorLength }, () => 0.1 * (random() - 0.5));
  return { layer, assignments: [{ codebook, indices, residualCodebook, residualIndices }] };
}
