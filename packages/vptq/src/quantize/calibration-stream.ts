import type { FinalizedHessian } from '@vptq/hessian';
import type { GpuHessian } from '@vptq/kernels-webgpu/quantize';
import { listLinearSpecs } from '@vptq/loader';
import type { LinearInput, LlamaConfig } from '@vptq/loader';
import type { WeightSource } from '@vptq/runtime';

/**
 * The four inputs of a decoder layer whose Hessians VPTQ needs (spec §1.2: qkv, o, up+gate, down): a projection
 * uses the Hessian of its spec's `input` (`listLinearSpecs` of @vptq/loader), shared by every projection that
 * reads the same input.
 */
export type HessianGroup = LinearInput;

/**
 * E[xxᵀ] of one projection input as a stream collected it: `[in, in]` f64 on the host, or (a GPU stream asked for
 * `onDevice`) kept on the GPU as f32, which only that GPU's backend prepares.
 */
export type CollectedHessian = FinalizedHessian | GpuHessian;

/** E[xxᵀ] of each of the four projection inputs of one decoder layer. */
export type LayerHessians = Readonly<Record<HessianGroup, CollectedHessian>>;

/** Whether `hessian` is kept on a device. */
export function isOnDevice(hessian: CollectedHessian): hessian is GpuHessian {
  return 'matrix' in hessian;
}

/** Frees what a collected Hessian holds on its device (nothing for a host one). */
export function releaseHessian(hessian: CollectedHessian): void {
  if (isOnDevice(hessian)) hessian.matrix.destroy();
}

/** What {@link CalibrationStream.forwardLayer} does besides running the layer. */
export interface ForwardLayerOptions {
  /** Return the Hessians of the layer's four projection inputs. */
  readonly collect: boolean;
  /** Replace the stream by the layer's output; otherwise the stream is left as it was. */
  readonly advance: boolean;
  /**
   * Keep the Hessians on the device where the stream has one (no n² readback; the caller releases them with
   * {@link releaseHessian}); a host stream ignores it.
   */
  readonly onDevice?: boolean;
  /** Called as windows finish. */
  readonly onProgress?: (doneTokens: number, totalTokens: number) => void;
}

/**
 * The calibration activations of a layer-by-layer quantizer: the residual stream of every calibration token,
 * `[tokens, hidden]` f32, at the input of the next layer, cut into attention windows (each from position 0).
 * On the CPU it lives in host memory, on the GPU in one device buffer.
 */
export interface CalibrationStream {
  readonly tokens: number;
  /** Bytes the stream itself holds (host or device). */
  readonly byteLength: number;
  /**
   * Runs decoder layer `layer`, with weights read from `weights` one layer at a time, over every window.
   *
   * @returns the four Hessians with `collect` (on the device with `onDevice` where there is one), else undefined.
   */
  forwardLayer(layer: number, weights: WeightSource, options: ForwardLayerOptions): Promise<LayerHessians | undefined>;
  destroy(): void;
}

/** Rows `[start, start + rows)` of each attention window of a stream of `tokens` rows. */
export function calibrationWindows(tokens: number, window: number): { start: number; rows: number }[] {
  const windows: { start: number; rows: number }[] = [];
  for (let start = 0; start < tokens; start += window) windows.push({ start, rows: Math.min(window, tokens - start) });
  return windows;
}

/** The width of each Hessian group of a layer (every layer has the same): its projections' `inFeatures`. */
export function groupWidths(config: LlamaConfig): Map<HessianGroup, number> {
  const widths = new Map<HessianGroup, number>();
  for (const spec of listLinearSpecs(config)) if (spec.layer === 0) widths.set(spec.input, spec.inFeatures);
  return widths;
}
