import type { VptqPassLayer } from '@vptq/codebook/engine';
import { createRandom } from '@vptq/kmeans';

import { createGpuVptqPassEngine } from '../vptq-pass/create-gpu-vptq-pass-engine';
import type { GpuVptqPassOptions } from '../vptq-pass/create-gpu-vptq-pass-engine';
import { planVptqPass, readVptqPassTuning } from '../vptq-pass/plan-vptq-pass';

/** One layer shape and codebook layout to time the GPU column loop on. */
export interface VptqPassBenchmarkCase {
  /** Output rows (out). */
  readonly rows: number;
  /** Input columns (in). */
  readonly cols: number;
  readonly vectorLength: number;
  readonly numCentroids: number;
  /** Kr, default 0. */
  readonly numResidualCentroids?: number;
  /** Columns per lazy-update block, default 128. */
  readonly blockSize?: number;
}

/** Options of {@link benchmarkVptqPass}. */
export interface BenchmarkVptqPassOptions {
  /** Default {@link vptqPassTargets}. */
  readonly cases?: readonly VptqPassBenchmarkCase[];
  /** Engine tunings to compare, each run on every case. Default `[{}]`. */
  readonly engines?: readonly GpuVptqPassOptions[];
  /** Timed warm passes after the first, default 3. */
  readonly passes?: number;
}

/** Wall-clock times of one case × tuning, in milliseconds. */
export interface VptqPassBenchmarkRow {
  /** `rows×cols v-k[-kr]`. */
  readonly layer: string;
  readonly engine: GpuVptqPassOptions;
  /** K slices and point tiles per column the planner chose (for the per-column kernels). */
  readonly searchSlices: number;
  readonly tiles: number;
  /** Vector-rows per sweep workgroup the planner chose; 0 when the columns run the per-column kernels. */
  readonly sweepPoints: number;
  /** Upload of the layer's constants and tr(W·H·Wᵀ). */
  readonly openMs: number;
  /** The first pass (keeping the residual when there is one): pipelines and bind groups included. */
  readonly firstPassMs: number;
  /** Each warm pass (with the residual codebook when there is one): loop, proxy error and readback. */
  readonly passMs: readonly number[];
  /** One proxy error of a host weight alone (upload, ΔW, quadratic form, readback of the tile sums). */
  readonly measureMs: number;
}

/** The issue's targets: 4096×4096 at v6-k4096 and 14336×4096 at v8-k65536 with a 256-entry residual codebook. */
export const vptqPassTargets: readonly VptqPassBenchmarkCase[] = [
  { rows: 4096, cols: 4096, vectorLength: 6, numCentroids: 4096 },
  { rows: 14336, cols: 4096, vectorLength: 8, numCentroids: 65536, numResidualCentroids: 256 },
];

/**
 * Times full GPU passes of the VPTQ column loop (`createGpuVptqPassEngine`) on synthetic layers: random weights in
 * [0, 1), random codebooks, a well-conditioned upper-triangular factor (the work does not depend on the values:
 * every entry is scanned). A quantizer runs about 2 + `refineIterations` passes per layer (18 by default).
 */
export async function benchmarkVptqPass(device: GPUDevice, options: BenchmarkVptqPassOptions = {}): Promise<VptqPassBenchmarkRow[]> {
  const rows: VptqPassBenchmarkRow[] = [];
  const warm = options.passes ?? 3;
  for (const benchmarkCase of options.cases ?? vptqPassTargets) {
    const layer = syntheticLayer(benchmarkCase);
    const residual = layer.parts[0].numResidualCentroids;
    const random = createRandom(7);
    const codebooks = [Float32Array.from({ length: benchmarkCase.numCentroids * benchmarkCase.vectorLength }, random)];
    const residualCodebooks = residual > 0 ? [Float32Array.from({ length: residual * benchmarkCase.vectorLength }, () => 0.05 * (random() - 0.5))] : undefined;
    for (const engineOptions of options.engines ?? [{}]) {
      const plan = planVptqPass('benchmarkVptqPass', layer, device.limits, readVptqPassTuning('benchmarkVptqPass', engineOptions));
      let started = performance.now();
      const session = await createGpuVptqPassEngine(device, engineOptions).openLayer(layer);
      const openMs = performance.now() - started;
      try {
        started = performance.now();
        await session.runPass({ codebooks, keepResidual: residual > 0 });
        const firstPassMs = performance.now() - started;
        const passMs: number[] = [];
        for (let pass = 0; pass < warm; pass++) {
          started = performance.now();
          await session.runPass({ codebooks, residualCodebooks, keepResidual: false });
          passMs.push(performance.now() - started);
        }
        started = performance.now();
        await session.measure(layer.start);
        const measureMs = performance.now() - started;
        const { rows: out, cols, vectorLength, numCentroids } = benchmarkCase;
        rows.push({
          layer: `${out}×${cols} v${vectorLength}-k${numCentroids}${residual > 0 ? `-${residual}` : ''}`,
          engine: engineOptions,
          searchSlices: plan.parts[0].searchSlices,
          tiles: plan.parts[0].tiles,
          sweepPoints: plan.parts[0].sweepPoints,
          openMs,
          firstPassMs,
          passMs,
          measureMs,
        });
      } finally {
        session.close();
      }
    }
  }
  return rows;
}

function syntheticLayer(benchmarkCase: VptqPassBenchmarkCase): VptqPassLayer {
  const { rows, cols, vectorLength, numCentroids } = benchmarkCase;
  const random = createRandom(1);
  const start = Float32Array.from({ length: rows * cols }, random);
  // Unit diagonal and small off-diagonal terms: the error feedback stays bounded over thousands of columns.
  const inverseCholesky = new Float64Array(cols * cols);
  for (let c = 0; c < cols; c++) {
    inverseCholesky[c * cols + c] = 1;
    for (let j = c + 1; j < cols; j++) inverseCholesky[c * cols + j] = (0.2 * (random() - 0.5)) / cols;
  }
  const hessian = new Float64Array(cols * cols);
  for (let c = 0; c < cols; c++) hessian[c * cols + c] = 1;
  const weight = { data: Float32Array.from({ length: rows * cols }, random), rows, cols };
  return {
    rows,
    cols,
    start,
    inverseCholesky,
    columnScale: undefined,
    blockSize: benchmarkCase.blockSize ?? 128,
    parts: [
      {
        start: 0,
        size: cols,
        vectorLength,
        vectorRows: Math.ceil(rows / vectorLength),
        numCentroids,
        numResidualCentroids: benchmarkCase.numResidualCentroids ?? 0,
      },
    ],
    weight,
    hessian,
    perm: Uint32Array.from({ length: cols }, (_, column) => column),
    norm: undefined,
  };
}
