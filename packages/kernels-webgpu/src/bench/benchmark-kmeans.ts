import { createRandom, kmeansAsync } from '@vptq/kmeans';

import { createBufferWithData, createStorageBuffer } from '../buffers';
import type { KernelDispatch } from '../dispatch';
import { createKmeansAssignDispatch } from '../kmeans-assign/kmeans-assign';
import { createGpuKmeansEngine } from '../kmeans-engine/create-gpu-kmeans-engine';
import type { GpuKmeansEngineOptions } from '../kmeans-engine/create-gpu-kmeans-engine';
import { createKmeansReduceDispatch, kmeansReduceWords } from '../kmeans-reduce/kmeans-reduce';
import { timeDispatches } from './time-dispatches';

/** One k-means problem to time: `count` points of width `dim`, `k` centroids. */
export interface KmeansBenchmarkCase {
  readonly name: string;
  readonly count: number;
  readonly k: number;
  readonly dim: number;
}

/**
 * The k-means runs of the targets: a 4096×4096 layer at v6-k4096 (2,796,203 vectors of 6), and a
 * 14336×4096 layer at v8-k65536 (7,340,032 vectors of 8) with its 256-entry residual codebook.
 */
export const vptqKmeansCases: readonly KmeansBenchmarkCase[] = [
  { name: 'v6-k4096 4096x4096', count: Math.ceil((4096 * 4096) / 6), k: 4096, dim: 6 },
  { name: 'v8-k65536 14336x4096', count: (14336 * 4096) / 8, k: 65536, dim: 8 },
  { name: 'v8-residual256 14336x4096', count: (14336 * 4096) / 8, k: 256, dim: 8 },
];

/** Options of {@link benchmarkKmeans}. */
export interface BenchmarkKmeansOptions {
  /** Default {@link vptqKmeansCases}. */
  readonly cases?: readonly KmeansBenchmarkCase[];
  /** Divide every count and k by this (at least 1 each), e.g. 256 on a software adapter. Default 1. */
  readonly sizeDivisor?: number;
  /** Engine steps timed after one untimed step. Default 5. */
  readonly steps?: number;
  /** Lloyd iterations of a whole `kmeansAsync` run (random init, tolerance 0) to time as well; 0 skips it. Default 0. */
  readonly iterations?: number;
  /**
   * Also time the assignment and the reduction kernels alone (GPU time from timestamp queries where the device
   * has them, else one submit's wall clock), to split a step into its kernels and its round trip. Default false.
   */
  readonly kernelTimes?: boolean;
  /** Options of the engine (assignment kernel tuning, bounds; the timed steps default to `bounds: false`). */
  readonly engine?: GpuKmeansEngineOptions;
  /** Called with each row as soon as it is measured. */
  readonly onRow?: (row: KmeansBenchmarkRow) => void;
}

/** One measured case. */
export interface KmeansBenchmarkRow {
  readonly name: string;
  readonly count: number;
  readonly k: number;
  readonly dim: number;
  /** Creating the engine: validating, scaling and uploading points and weights, compiling pipelines. */
  readonly uploadMilliseconds: number;
  /** Wall time of one engine step (assignment, reduction, O(k·dim) readback), median of `steps`. */
  readonly stepMilliseconds: number;
  /** count × k point–centroid pairs per second of a step. */
  readonly pairsPerSecond: number;
  /** 2·dim·count·k per second: the multiply-adds of the distances, counted as two operations. */
  readonly flopsPerSecond: number;
  /** Wall time of the whole `kmeansAsync` run (initialization and final readback included), when asked for. */
  readonly runMilliseconds?: number;
  /** With `kernelTimes`: the assignment kernel alone, median µs. */
  readonly assignMicroseconds?: number;
  /** With `kernelTimes`: the fixed-point reduction kernel alone, median µs. */
  readonly reduceMicroseconds?: number;
  /** With `kernelTimes`: how the kernels were timed. */
  readonly kernelTiming?: 'timestamp-query' | 'wall-clock';
  /** Iterations that run made. */
  readonly runIterations?: number;
  /** Points the run's assignments scanned in full, as a fraction of count × (iterations + 1). */
  readonly runScannedFraction?: number;
}

/**
 * Times the GPU k-means engine on synthetic weight-like data (Laplace-distributed coordinates, weights in
 * [0.5, 1.5), seeded): one engine step per case and, optionally, a whole `kmeansAsync` run. Step times are
 * wall-clock from submit to readback, which is what an iteration costs.
 *
 * @returns one row per case.
 * @throws {RangeError} for a bad option or a case beyond the device limits.
 */
export async function benchmarkKmeans(device: GPUDevice, options: BenchmarkKmeansOptions = {}): Promise<KmeansBenchmarkRow[]> {
  const divisor = options.sizeDivisor ?? 1;
  const steps = options.steps ?? 5;
  const iterations = options.iterations ?? 0;
  if (!(divisor >= 1) || !Number.isInteger(steps) || steps < 1 || !Number.isInteger(iterations) || iterations < 0) {
    throw new RangeError(`benchmarkKmeans: sizeDivisor must be ≥ 1, steps ≥ 1 and iterations ≥ 0 (got ${divisor}, ${steps}, ${iterations})`);
  }
  const rows: KmeansBenchmarkRow[] = [];
  for (const base of options.cases ?? vptqKmeansCases) {
    const count = Math.max(1, Math.round(base.count / divisor));
    const k = Math.min(count, Math.max(1, Math.round(base.k / divisor)));
    const { dim } = base;
    const random = createRandom(count + k + dim);
    const data = new Float32Array(count * dim);
    for (let i = 0; i < data.length; i++) {
      const u = random() - 0.5;
      data[i] = (u < 0 ? 1 : -1) * Math.log(1 - 2 * Math.abs(u)) * 0.02;
    }
    const weights = Float64Array.from({ length: count }, () => 0.5 + random());
    const points = { data, rows: count, cols: dim };

    const started = performance.now();
    // Repeated steps at the same centroids would be settled by the bounds after the first: the steps time the full
    // scan unless the options ask for bounds.
    const engine = await createGpuKmeansEngine(device, { ...options.engine, bounds: options.engine?.bounds ?? false })({ points, weights, k });
    const uploadMilliseconds = performance.now() - started;
    const times: number[] = [];
    try {
      const centroids = data.slice(0, k * dim);
      await engine.step(centroids);
      for (let s = 0; s < steps; s++) {
        const begin = performance.now();
        await engine.step(centroids);
        times.push(performance.now() - begin);
      }
    } finally {
      await engine.destroy?.();
    }
    times.sort((a, b) => a - b);
    const stepMilliseconds = times[Math.floor(times.length / 2)];
    const pairsPerSecond = (count * k) / (stepMilliseconds / 1000);
    const kernels = options.kernelTimes ? await timeKmeansKernels(device, data, weights, k, dim, options.engine) : undefined;
    let run: { runMilliseconds: number; runIterations: number; runScannedFraction: number } | undefined;
    if (iterations > 0) {
      let scanned = 0;
      let assignments = 0;
      const onScanned = (points: number) => {
        scanned += points;
        assignments++;
        options.engine?.onScanned?.(points);
      };
      const begin = performance.now();
      const result = await kmeansAsync(points, k, { weights, maxIterations: iterations, tolerance: 0, engine: createGpuKmeansEngine(device, { ...options.engine, onScanned }) });
      run = { runMilliseconds: performance.now() - begin, runIterations: result.iterations, runScannedFraction: scanned / (count * Math.max(1, assignments)) };
    }
    const row: KmeansBenchmarkRow = {
      name: base.name,
      count,
      k,
      dim,
      uploadMilliseconds,
      stepMilliseconds,
      pairsPerSecond,
      flopsPerSecond: 2 * dim * pairsPerSecond,
      ...run,
      ...kernels,
    };
    options.onRow?.(row);
    rows.push(row);
  }
  return rows;
}

/**
 * The two kernels of a k-means step, each timed alone on one set of buffers (the reduction's sums wrap around
 * between runs; only its time is used).
 */
async function timeKmeansKernels(
  device: GPUDevice,
  data: Float32Array,
  weights: Float64Array,
  k: number,
  dim: number,
  engine: GpuKmeansEngineOptions | undefined,
): Promise<{ assignMicroseconds: number; reduceMicroseconds: number; kernelTiming: 'timestamp-query' | 'wall-clock' }> {
  const count = weights.length;
  const timing = device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
  const buffers = [
    createBufferWithData(device, 'benchmark/points', data),
    createBufferWithData(device, 'benchmark/weights', Float32Array.from(weights)),
    createBufferWithData(device, 'benchmark/centroids', data.slice(0, k * dim)),
    createStorageBuffer(device, 'benchmark/assignments', count * 4),
    createStorageBuffer(device, 'benchmark/accumulators', kmeansReduceWords(k, dim, false) * 4),
    createStorageBuffer(device, 'benchmark/stats', 16),
  ];
  const [points, weightBuffer, centroids, assignments, accumulators, stats] = buffers;
  const dispatches: KernelDispatch[] = [];
  try {
    const shape = { count, k, dim };
    const assign = await createKmeansAssignDispatch(device, { points, centroids, assignments, stats }, shape, engine?.assign);
    dispatches.push(assign);
    const reduce = await createKmeansReduceDispatch(
      device,
      { points, weights: weightBuffer, assignments, centroids, accumulators, stats },
      { ...shape, costMode: false, sumScale: 2 ** 32, costScale: 2 ** 32 },
    );
    dispatches.push(reduce);
    const assignMicroseconds = await timeDispatches(device, [assign], 3, 5, timing, 200);
    const reduceMicroseconds = await timeDispatches(device, [reduce], 3, 5, timing, 200);
    return { assignMicroseconds, reduceMicroseconds, kernelTiming: timing };
  } finally {
    for (const dispatch of dispatches) dispatch.destroy();
    for (const buffer of buffers) buffer.destroy();
  }
}
