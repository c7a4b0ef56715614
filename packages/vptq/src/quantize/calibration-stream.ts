import type { FinalizedHessian } from '@vptq/hessian';
import type { WeightSource } from '@vptq/runtime';

import type { HessianGroup } from './collect-hessians';

/** E[xxᵀ] of each of the four projection inputs of one decoder layer (`[in, in]` f64 each). */
export type LayerHessians = Readonly<Record<HessianGroup, FinalizedHessian>>;

/** What {@link CalibrationStream.forwardLayer} does besides running the layer. */
export interface ForwardLayerOptions {
  /** Return the Hessians of the layer's four projection inputs. */
  readonly collect: boolean;
  /** Replace the stream by the layer's output; otherwise the stream is left as it was. */
  readonly advance: boolean;
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
   * @returns the four Hessians with `collect`, else undefined.
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
