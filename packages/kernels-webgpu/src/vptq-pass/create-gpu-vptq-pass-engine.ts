import type { VptqPassLayer } from '@vptq/codebook/engine';
import { GpuVptqPassSession } from './gpu-vptq-pass-session';
import { readVptqPassTuning } from './plan-vptq-pass';

/** Tuning of the GPU column loop; every field is optional. */
export interface GpuVptqPassOptions {
  /**
   * Vector-rows per workgroup of the column kernel (P), a power of two from 1 to 64. Each workgroup reads its K
   * slice of the codebook once for P points, so a larger P reads less codebook per column but makes fewer
   * workgroups. Default 16.
   */
  readonly pointsPerWorkgroup?: number;
  /**
   * Workgroups per column the main search aims for: when a column has fewer point tiles (ceil(R/P)) than this, K
   * is split into slices searched by separate workgroups and merged in the finalize step (two dispatches per
   * column instead of one). Never below one workgroup tile of entries per slice. Default 1024.
   */
  readonly targetWorkgroups?: number;
  /** Forces the number of K slices of every part's main search (1: one fused dispatch per column). */
  readonly searchSlices?: number;
  /**
   * How a block's columns run. `'sweep'` (default): one dispatch per block (and part), in which each workgroup
   * walks the block's columns for its own vector-rows, reading the codebook from the cache every column; parts
   * with v > 8 fall back to the per-column kernels. `'per-column'`: one or two dispatches per column (the search
   * split over K, `pointsPerWorkgroup`/`targetWorkgroups`/`searchSlices` apply). Both give the same indices and
   * bytes.
   */
  readonly columnLoop?: 'sweep' | 'per-column';
  /** Vector-rows per sweep workgroup, 1 to 16 (default: the fewest that keep a sweep within `sweepWorkgroups`). */
  readonly sweepPoints?: number;
  /** Workgroups a sweep dispatch aims at, at most (default 256). */
  readonly sweepWorkgroups?: number;
  /** Merge the sweep's searches with subgroup operations. Default: whether the device has the `subgroups` feature. */
  readonly useSubgroups?: boolean;
}

/** The GPU engine: `openLayer` uploads a layer and resolves to its session. */
export interface GpuVptqPassEngine {
  openLayer(layer: VptqPassLayer): Promise<GpuVptqPassSession>;
}

/**
 * The column loop of `@vptq/codebook`'s VPTQ quantizer on WebGPU: give it to `quantizeVptqLayerAsync(weight,
 * prepared, { …, engine })`. Each pass runs the loop with the CPU engine's algorithm in f32 (nearest entries by f32
 * distance, ties to the lower index; the error feedback and lazy update in f32 with U·D⁻¹ rounded to f32) and its
 * proxy error on the GPU, and reads back once per pass.
 *
 * @param device - a device with the adapter's limits (the layer's buffers must fit `maxStorageBufferBindingSize`).
 * @throws {RangeError} for tuning options out of range.
 */
export function createGpuVptqPassEngine(device: GPUDevice, options: GpuVptqPassOptions = {}): GpuVptqPassEngine {
  const tuning = readVptqPassTuning('createGpuVptqPassEngine', options);
  return { openLayer: (layer) => GpuVptqPassSession.open(device, layer, tuning) };
}
