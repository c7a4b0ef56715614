import { listLinearSpecs } from '@vptq/loader';
import type { LlamaConfig } from '@vptq/loader';

import { groupWidths } from './calibration-stream';

/** GPU bytes of a layer-by-layer run, by what holds them (see the README's "Memory" section). */
export interface GpuMemoryEstimate {
  /** The calibration stream, `tokens × hidden × 4`, held for the whole run. */
  readonly stream: number;
  /** One layer's f32 weights (the widest layer: every layer has the same shapes). */
  readonly layerWeights: number;
  /** The layer runner: one chunk's activations and input copies, one window's KV cache. */
  readonly runner: number;
  /** The four Hessian accumulators (≈ 4 n² bytes each, in 64 × 64 tiles). */
  readonly accumulators: number;
  /**
   * The quantization phase: the Hessians kept on the device (each group's E[xxᵀ] until prepared, then its H and U
   * until its last projection: at most three n² f32 per group, plus the matrix being factorized) and the
   * quantization of the `projectionsInFlight` largest projections (each: its weight and error buffers, the H
   * factor, the k-means points).
   */
  readonly quantize: number;
  /**
   * Most held at once: stream + max(calibrate, quantize) one layer at a time; with layers in flight the next
   * layer is calibrated while the last one is quantized, and each layer in flight keeps its Hessians:
   * stream + calibrate + quantize + (layersInFlight − 1) · that layer's Hessians.
   */
  readonly peak: number;
}

/**
 * Estimates the GPU memory of quantizing `config` on `tokens` calibration tokens: the stream stays resident; the
 * calibration pass holds one layer's weights, the runner and the accumulators; the quantization phase holds the
 * layer's Hessians (kept on the device: at most E[xxᵀ], H and U per group and one matrix being factorized) and the
 * buffers of the projections in flight, each about five `out × in` f32 arrays (weight, normalized weight, error,
 * the kept quantized weight, k-means points), the k-means bounds (≤ 3 bytes per weight) and the `in × in` factor. Bounded by one decoder layer plus the
 * activations, whatever the depth.
 *
 * @param projectionsInFlight - projections quantized at once (`quantize`'s resolved `projectionsInFlight`).
 * @param layersInFlight - layers whose projections may be quantized while the next is calibrated (1: none).
 */
export function estimateGpuMemory(config: LlamaConfig, tokens: number, window: number, chunk: number, projectionsInFlight = 1, layersInFlight = 1): GpuMemoryEstimate {
  const f32 = 4;
  const hidden = config.hiddenSize;
  const queryWidth = config.numAttentionHeads * config.headDim;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const intermediate = config.intermediateSize;
  const specs = listLinearSpecs(config).filter((spec) => spec.layer === 0);
  const layerWeights = specs.reduce((sum, spec) => sum + spec.outFeatures * spec.inFeatures * f32, 0);
  const rows = Math.min(chunk, window);
  const runner =
    rows * (3 * hidden + 2 * queryWidth + 2 * kvWidth + 3 * intermediate) * f32 +
    rows * (2 * hidden + queryWidth + intermediate) * f32 +
    2 * window * kvWidth * f32 +
    config.vocabSize * f32;
  const tiled = (n: number) => {
    const tiles = Math.ceil(n / 64);
    return ((tiles * (tiles + 1)) / 2) * 64 * 64 * 8;
  };
  const accumulators = [...groupWidths(config).values()].reduce((sum, n) => sum + tiled(n), 0);
  const widths = [...groupWidths(config).values()];
  const kept = 3 * widths.reduce((sum, n) => sum + n * n * f32, 0) + Math.max(...widths) ** 2 * f32;
  // The k-means bounds add 12 bytes per vector (upper and lower bound, list entry): at most 3 per weight for v ≥ 4.
  const projections = specs.map((spec) => (5 * f32 + 3) * spec.outFeatures * spec.inFeatures + spec.inFeatures * spec.inFeatures * f32).sort((a, b) => b - a);
  const quantize = kept + projections.slice(0, projectionsInFlight).reduce((sum, bytes) => sum + bytes, 0);
  const stream = tokens * hidden * f32;
  const calibrate = layerWeights + runner + accumulators;
  const peak = layersInFlight > 1 ? stream + calibrate + quantize + (layersInFlight - 1) * kept : stream + Math.max(calibrate, quantize);
  return { stream, layerWeights, runner, accumulators, quantize, peak };
}
