import { f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { createBufferWithData, createStorageBuffer } from '../buffers';
import { captureGpuErrors } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { createCopyDispatch } from '../copy/copy';
import { createGemvDispatch } from '../gemv/gemv';
import type { GemvOptions } from '../gemv/gemv';
import { uploadWeights } from '../gpu-weights';
import { createVqGemvDispatch, placeVqGemvLayer } from '../vq-gemv/vq-gemv';
import { planVqGemv } from '../vq-gemv/plan-vq-gemv';
import { planVqGemvLanes } from '../vq-gemv/plan-vq-gemv-lanes';
import type { VqGemvLanesPlan } from '../vq-gemv/plan-vq-gemv-lanes';
import { planVqGemvOnChip } from '../vq-gemv/plan-vq-gemv-onchip';
import type { VqGemvOptions } from '../vq-gemv/vq-gemv';
import { createSyntheticVqLayer } from './create-synthetic-vq-layer';
import { timeDispatches } from './time-dispatches';
import type { SyntheticVqLayerOptions } from './create-synthetic-vq-layer';
import { uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';
import type { VqIndexLayout } from '../vq-layer/lane-index-layout';

/** A weight shape `[outFeatures, inFeatures]` to benchmark. */
export interface BenchmarkShape {
  readonly outFeatures: number;
  readonly inFeatures: number;
}

/** A VPTQ layout to benchmark, named like the published models (`v8-k65536-256`). */
export interface BenchmarkVqConfig {
  readonly name: string;
  readonly vectorLength: number;
  readonly numCentroids: number;
  readonly numResidualCentroids?: number;
  readonly groupNum?: number;
  /** Share of input columns in the outlier part, in percent (rounded up so the groups split evenly). */
  readonly outlierPercent?: number;
  readonly outlierVectorLength?: number;
  readonly numOutlierCentroids?: number;
}

/** LLaMA-2-7B's linear shapes: q/k/v/o, gate/up, down. */
export const llama2Shapes: readonly BenchmarkShape[] = [
  { outFeatures: 4096, inFeatures: 4096 },
  { outFeatures: 11008, inFeatures: 4096 },
  { outFeatures: 4096, inFeatures: 11008 },
];

/**
 * The default layouts: the paper's 2-bit v6-k4096, the community's v8-k65536 (2 bits + 0.19 codebook bits),
 * with a 256-entry residual (3 bits), and with outliers and 4 groups. The outlier part follows the paper's
 * LLaMA-2-7B 2.26-bit setting (Table 8): 1% of the columns, vo = 4, Ko = 8192.
 */
export const defaultBenchmarkConfigs: readonly BenchmarkVqConfig[] = [
  { name: 'v6-k4096', vectorLength: 6, numCentroids: 4096 },
  { name: 'v8-k65536', vectorLength: 8, numCentroids: 65536 },
  { name: 'v8-k65536-256', vectorLength: 8, numCentroids: 65536, numResidualCentroids: 256 },
  { name: 'v8-k65536-o1%v4k8192-g4', vectorLength: 8, numCentroids: 65536, groupNum: 4, outlierPercent: 1, outlierVectorLength: 4, numOutlierCentroids: 8192 },
  { name: 'v8-k256-r256', vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 },
];

/**
 * Every layout `bench kernels --configs` knows: the defaults and the small-codebook formats the on-chip kernel
 * serves (v4-k256-r16: 3 bits; v8-k256: 1 bit).
 */
export const benchmarkVqConfigs: readonly BenchmarkVqConfig[] = [
  ...defaultBenchmarkConfigs,
  { name: 'v4-k256-r16', vectorLength: 4, numCentroids: 256, numResidualCentroids: 16 },
  { name: 'v8-k256', vectorLength: 8, numCentroids: 256 },
];

/** A named f16 GEMV configuration to measure. */
export interface BenchmarkGemvVariant {
  /** The row's `kernel`, e.g. `gemv-f16`. */
  readonly name: string;
  readonly options: GemvOptions;
}

/**
 * The f16 GEMV as planned now (8 rows per workgroup, 2 strides per iteration) and as it was before issue 10
 * (4 rows, 1 stride, 128 invocations).
 */
export const defaultGemvVariants: readonly BenchmarkGemvVariant[] = [
  { name: 'gemv-f16', options: {} },
  { name: 'gemv-f16-previous', options: { rowsPerWorkgroup: 4, unroll: 1, workgroupSize: 128 } },
];

/** Options of {@link benchmarkKernels}. */
export interface BenchmarkKernelsOptions {
  /** Default {@link llama2Shapes}. */
  readonly shapes?: readonly BenchmarkShape[];
  /** Default {@link defaultBenchmarkConfigs}. */
  readonly configs?: readonly BenchmarkVqConfig[];
  /** Divide every shape by this (rounded to a multiple of 64), e.g. 16 on a software adapter. Default 1. */
  readonly sizeDivisor?: number;
  /** Tokens per GEMV (1 = decode). Default 1. */
  readonly tokens?: number;
  /** Kernel runs per measurement. Default 50. */
  readonly iterations?: number;
  /** Measurements per kernel; the median is reported. Default 5. */
  readonly repeats?: number;
  /**
   * Milliseconds each kernel runs before it is measured. GPUs lower their clocks while the CPU prepares the
   * next data set and take a while under load to raise them; on an H100 even the copy kernel measured up to
   * 1.7× slower after a 50 ms warm-up. Default 300.
   */
  readonly warmUpMilliseconds?: number;
  /** Bytes of distinct copies that each kernel cycles through so that the L2 cache cannot hold them. Default 256 MiB. */
  readonly rotationBytes?: number;
  /** Bytes copied by the copy kernel (read and written once). Default 256 MiB. */
  readonly copyBytes?: number;
  /** Tuning options of the fused VQ-GEMV. */
  readonly vqGemv?: VqGemvOptions;
  /**
   * VQ-GEMV main-pass kernels to measure, each a row (`vq-gemv` streaming, `vq-gemv-onchip`, `vq-gemv-lanes`,
   * the last on layers uploaded in the lanes index layout); a layout the on-chip kernel does not cover gets no
   * on-chip row. Default all three.
   */
  readonly vqGemvKernels?: readonly ('streaming' | 'onchip' | 'lanes')[];
  /**
   * Extra plans, each a row after the planned ones (kernel `name`, e.g. `vq-gemv-r1s1w128u4`): its options
   * replace those of `vqGemv` that it sets, and its `kernel` (default `streaming`) must be one of
   * `vqGemvKernels` for it to be measured. A plan the planner rejects for a layout or the device (e.g. a
   * workgroup above the device limit) is skipped and listed in `skipped`.
   */
  readonly vqGemvPlans?: readonly { readonly name: string; readonly options: VqGemvOptions }[];
  /** f16 GEMV configurations, each a row. Default {@link defaultGemvVariants}. */
  readonly gemvVariants?: readonly BenchmarkGemvVariant[];
  /** Use timestamp queries when the device has them. Default true. */
  readonly useTimestamps?: boolean;
  /** Called after each row is measured (for progress output). */
  readonly onRow?: (row: KernelBenchmarkRow) => void;
}

/** One measured kernel. */
export interface KernelBenchmarkRow {
  /** `copy`, a GEMV variant's name (`gemv-f16`, `gemv-f16-previous`), `vq-gemv` or `vq-gemv-onchip`. */
  readonly kernel: string;
  /** `out×in`, or the byte count for copy. */
  readonly shape: string;
  /** The VPTQ layout name, `f16` for the dense GEMV, `-` for copy. */
  readonly config: string;
  /** Median GPU time of one run. */
  readonly microseconds: number;
  /**
   * Bytes the kernel must move: copy reads and writes its buffer; GEMV reads W, x and writes y; VQ-GEMV reads
   * the packed indices, every codebook, the per-column perm (u32) and norm (2 × f32) and x, and writes y.
   */
  readonly bytesMoved: number;
  readonly gbPerSecond: number;
  /** gbPerSecond over the copy kernel's, measured in the same run. */
  readonly fractionOfCopyBandwidth: number;
  /** Time of the fastest f16 GEMV variant of the same shape over this kernel's time (NaN for copy). */
  readonly speedupOverF16Gemv: number;
  /**
   * Streaming VQ-GEMV rows: the main pass's plan, e.g. `r2 u2 s8 w128: 2048 wg + reduce` (vector-rows per
   * workgroup, unroll, column splits, invocations per workgroup, workgroups, whether a reduction follows).
   */
  readonly plan?: string;
}

/** What {@link benchmarkKernels} measured and how. */
export interface KernelBenchmarkResult {
  readonly rows: readonly KernelBenchmarkRow[];
  /** `timestamp-query` (GPU time of the compute pass) or `wall-clock` (submit to completion). */
  readonly timing: 'timestamp-query' | 'wall-clock';
  readonly copyGbPerSecond: number;
  /** Extra streaming plans ({@link BenchmarkKernelsOptions.vqGemvPlans}) the planner rejected, and why. */
  readonly skipped: readonly { readonly kernel: string; readonly shape: string; readonly config: string; readonly reason: string }[];
}

/**
 * Measures the copy kernel, the f16 GEMV and the fused VQ-GEMV on synthetic data of LLaMA-2-7B shapes,
 * side by side in one run, so that bandwidth fractions and speedups compare like with like. Each kernel
 * cycles through enough distinct copies of its data that the L2 cache cannot serve it, as in decoding where
 * the other layers evict it. Times come from timestamp queries around a pass of `iterations` runs (the GPU
 * time, dispatch gaps included), or from wall-clock time of one submit when the device has no timestamps.
 *
 * @throws {RangeError} when an option is out of range.
 * @throws {GpuValidationError} when a kernel fails validation (e.g. a shape too large for the device).
 */
export async function benchmarkKernels(device: GPUDevice, options: BenchmarkKernelsOptions = {}): Promise<KernelBenchmarkResult> {
  const divisor = options.sizeDivisor ?? 1;
  const tokens = options.tokens ?? 1;
  const iterations = options.iterations ?? 50;
  const repeats = options.repeats ?? 5;
  const rotationBytes = options.rotationBytes ?? 256 * 2 ** 20;
  for (const [name, value] of [['sizeDivisor', divisor], ['tokens', tokens], ['iterations', iterations], ['repeats', repeats]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`benchmarkKernels: options.${name} must be a positive integer (got ${value})`);
  }
  const timing = (options.useTimestamps ?? true) && device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
  const warmUp = options.warmUpMilliseconds ?? 300;
  const measure = (dispatches: readonly KernelDispatch[]) => timeDispatches(device, dispatches, iterations, repeats, timing, warmUp);
  const rows: KernelBenchmarkRow[] = [];
  const skipped: { kernel: string; shape: string; config: string; reason: string }[] = [];
  const emit = (row: KernelBenchmarkRow) => {
    rows.push(row);
    options.onRow?.(row);
  };

  const copyBytes = Math.max(16, Math.floor((options.copyBytes ?? 256 * 2 ** 20) / divisor / 16) * 16);
  const copyGbPerSecond = await captureGpuErrors(device, 'benchmark/copy', async () => {
    const source = createStorageBuffer(device, 'benchmark/copy-source', copyBytes);
    const destination = createStorageBuffer(device, 'benchmark/copy-destination', copyBytes);
    const copy = await createCopyDispatch(device, { source, destination }, copyBytes);
    try {
      const microseconds = await measure([copy]);
      const gbPerSecond = (2 * copyBytes) / microseconds / 1e3;
      emit({ kernel: 'copy', shape: `${copyBytes} B`, config: '-', microseconds, bytesMoved: 2 * copyBytes, gbPerSecond, fractionOfCopyBandwidth: 1, speedupOverF16Gemv: NaN });
      return gbPerSecond;
    } finally {
      copy.destroy();
      source.destroy();
      destination.destroy();
    }
  });

  for (const fullShape of options.shapes ?? llama2Shapes) {
    const outFeatures = Math.max(64, Math.round(fullShape.outFeatures / divisor / 64) * 64);
    const inFeatures = Math.max(64, Math.round(fullShape.inFeatures / divisor / 64) * 64);
    const shapeName = `${outFeatures}x${inFeatures}`;
    const x = createBufferWithData(device, 'benchmark/x', randomVector(tokens * inFeatures, 1));
    const y = createStorageBuffer(device, 'benchmark/y', tokens * outFeatures * 4);
    const io = tokens * (inFeatures + outFeatures) * 4;
    try {
      const gemvRows = await captureGpuErrors(device, 'benchmark/gemv-f16', async () => {
        const weights = Uint16Array.from(randomVector(outFeatures * inFeatures, 2), f32ToF16Bits);
        const weightBytes = weights.byteLength;
        const copies = Math.min(8, Math.max(1, Math.ceil(rotationBytes / weightBytes)));
        const uploaded = Array.from({ length: copies }, () => uploadWeights(device, weights, { rows: outFeatures, cols: inFeatures, format: 'f16' }, { label: 'benchmark/w' }));
        const measured: { name: string; microseconds: number }[] = [];
        try {
          for (const variant of options.gemvVariants ?? defaultGemvVariants) {
            const dispatches: KernelDispatch[] = [];
            try {
              for (const w of uploaded) dispatches.push(await createGemvDispatch(device, { x, weights: w, y }, { tokens }, variant.options));
              measured.push({ name: variant.name, microseconds: await measure(dispatches) });
            } finally {
              for (const dispatch of dispatches) dispatch.destroy();
            }
          }
        } finally {
          for (const w of uploaded) w.destroy();
        }
        const bytesMoved = weightBytes + io;
        return measured.map(({ name, microseconds }) => {
          const gbPerSecond = bytesMoved / microseconds / 1e3;
          return { kernel: name, shape: shapeName, config: 'f16', microseconds, bytesMoved, gbPerSecond, fractionOfCopyBandwidth: gbPerSecond / copyGbPerSecond, speedupOverF16Gemv: NaN };
        });
      });
      // Speedups are over the fastest f16 GEMV variant of the shape: the honest baseline.
      const gemvMicroseconds = Math.min(...gemvRows.map((row) => row.microseconds));
      for (const row of gemvRows) emit({ ...row, speedupOverF16Gemv: gemvMicroseconds / row.microseconds });

      for (const config of options.configs ?? defaultBenchmarkConfigs) {
        await captureGpuErrors(device, `benchmark/vq-gemv ${config.name}`, async () => {
          const { config: layerConfig, tensors } = createSyntheticVqLayer(syntheticOptions(config, outFeatures, inFeatures));
          // Copies of the layer in each index layout a run needs, enough to cycle through rotationBytes.
          const layerSets = new Map<VqIndexLayout, GpuVqLayer[]>();
          const layersIn = (indexLayout: VqIndexLayout): GpuVqLayer[] => {
            let set = layerSets.get(indexLayout);
            if (set) return set;
            set = [uploadVqLayer(device, { config: layerConfig, tensors }, { label: 'benchmark/vq', indexLayout })];
            layerSets.set(indexLayout, set);
            const copies = Math.min(32, Math.max(1, Math.ceil(rotationBytes / set[0].byteLength)));
            while (set.length < copies) set.push(uploadVqLayer(device, { config: layerConfig, tensors }, { label: 'benchmark/vq', indexLayout }));
            return set;
          };
          try {
            const limits = { limits: device.limits, subgroups: device.features.has('subgroups') };
            const kernels = options.vqGemvKernels ?? (['streaming', 'onchip', 'lanes'] as const);
            const names = { streaming: 'vq-gemv', onchip: 'vq-gemv-onchip', lanes: 'vq-gemv-lanes' } as const;
            // The planned kernels, then each extra plan of a kernel that is measured.
            const runs = [
              ...kernels.map((kernel) => ({ name: names[kernel], options: { ...options.vqGemv, kernel } })),
              ...(options.vqGemvPlans ?? [])
                .map((plan) => ({ name: plan.name, options: { ...options.vqGemv, ...plan.options, kernel: plan.options.kernel ?? ('streaming' as const) }, extra: true }))
                .filter((run) => (kernels as readonly string[]).includes(run.options.kernel)),
            ];
            for (const run of runs) {
              const layers = layersIn(run.options.kernel === 'lanes' ? 'lanes' : 'rows');
              // The bytes of the stored format, whichever index layout the kernel reads.
              const mustRead = vqBytes(layers[0]) + io;
              const placements = [placeVqGemvLayer(layers[0])];
              let plan: string | undefined;
              if (run.options.kernel === 'onchip') {
                if (planVqGemvOnChip(placements, { tokens }, run.options, limits).kernel !== 'onchip') continue;
              } else {
                try {
                  plan = run.options.kernel === 'lanes' ? describeLanesPlan(planVqGemvLanes(placements, { tokens }, run.options, limits)) : describeStreamingPlan(planVqGemv(placements, { tokens }, run.options, limits));
                } catch (error) {
                  // An extra plan the planner rejects, or a layout the lanes kernel does not cover (outliers).
                  if (!(('extra' in run) || run.options.kernel === 'lanes') || !(error instanceof RangeError)) throw error;
                  skipped.push({ kernel: run.name, shape: shapeName, config: config.name, reason: error.message });
                  continue;
                }
              }
              const dispatches: KernelDispatch[] = [];
              try {
                for (const layer of layers) dispatches.push(await createVqGemvDispatch(device, layer, { x, y }, { tokens }, run.options));
                const microseconds = await measure(dispatches);
                const gbPerSecond = mustRead / microseconds / 1e3;
                emit({
                  kernel: run.name,
                  shape: shapeName,
                  config: config.name,
                  microseconds,
                  bytesMoved: mustRead,
                  gbPerSecond,
                  fractionOfCopyBandwidth: gbPerSecond / copyGbPerSecond,
                  speedupOverF16Gemv: gemvMicroseconds / microseconds,
                  ...(plan === undefined ? {} : { plan }),
                });
              } finally {
                for (const dispatch of dispatches) dispatch.destroy();
              }
            }
          } finally {
            for (const set of layerSets.values()) for (const layer of set) layer.destroy();
          }
        });
      }
    } finally {
      x.destroy();
      y.destroy();
    }
  }
  return { rows, timing, copyGbPerSecond, skipped };
}

/** `lanes f32 w256: 688 wg + reduce`: the lanes VQ-GEMV's fields per lane, workgroup size and grid. */
function describeLanesPlan(plan: VqGemvLanesPlan): string {
  const [x, y, z] = plan.workgroups;
  return `lanes f${plan.constants.fieldsPerLane} w${plan.constants.workgroupSize}: ${x * y * z} wg${plan.reduce ? ' + reduce' : ''}`;
}

/** `r2 u2 s8 w128: 2048 wg + reduce`: the main pass of a streaming VQ-GEMV plan (see {@link KernelBenchmarkRow.plan}). */
function describeStreamingPlan(plan: ReturnType<typeof planVqGemv>): string {
  const [main] = plan.passes;
  const workgroups = plan.passes.reduce((sum, pass) => sum + pass.workgroups[0] * pass.workgroups[1] * pass.workgroups[2], 0);
  return `r${plan.rowsPerWorkgroup} u${main.constants.unroll} s${main.params.splits} w${plan.workgroupSize}: ${workgroups} wg${plan.reduce ? ' + reduce' : ''}`;
}

function syntheticOptions(config: BenchmarkVqConfig, outFeatures: number, inFeatures: number): SyntheticVqLayerOptions {
  const groups = config.groupNum ?? 1;
  let outlierSize = 0;
  if (config.outlierPercent) {
    outlierSize = Math.ceil((config.outlierPercent * inFeatures) / 100);
    outlierSize += (inFeatures - outlierSize) % groups;
  }
  return {
    outFeatures,
    inFeatures,
    vectorLength: config.vectorLength,
    numCentroids: config.numCentroids,
    numResidualCentroids: config.numResidualCentroids,
    groupNum: groups,
    outlierSize,
    outlierVectorLength: config.outlierVectorLength,
    numOutlierCentroids: config.numOutlierCentroids,
    seed: 3,
  };
}

/** Bytes a VQ-GEMV must read from a resident layer: indices, codebooks, per-column perm/norm, bias. */
function vqBytes(layer: GpuVqLayer): number {
  const { layout } = layer;
  const element = (format: number) => (format === 0 ? 4 : 2);
  let bytes = layout.groupNum * layout.vectorRows * layout.rowWords * 4;
  bytes += layout.groupNum * layout.numCentroids * layout.vectorLength * element(layer.centroidFormat);
  bytes += layout.groupNum * layout.numResidualCentroids * layout.vectorLength * element(layer.residualFormat);
  if (layout.hasOutliers) {
    bytes += layout.outlierVectorRows * layer.outlierRowWords * 4;
    bytes += layout.numOutlierCentroids * layout.outlierVectorLength * element(layer.outlierFormat);
  }
  if (layer.perm) bytes += layout.inFeatures * 4;
  if (layer.norm) bytes += layout.inFeatures * 8;
  if (layer.bias) bytes += layout.outFeatures * 4;
  return bytes;
}

function randomVector(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}
