import type { VptqLayerData } from '@vptq/pack-format';

/** Normalized proxy errors `tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ)` in original weight units (spec §1.1). */
export interface VptqProxyError {
  /** Nearest-centroid assignment from the k-means, no error feedback (the reference's "initial" log line). */
  readonly before: number;
  /** After the first column loop, main codebooks only. Equals `after` without a residual codebook. */
  readonly firstPass: number;
  /**
   * The final column loop with the k-means codebooks, before any refinement. Equals `after` when
   * `refineIterations` is 0 or no round improved.
   */
  readonly unrefined: number;
  /** The error after each refinement round's column loop, in order (empty without refinement). */
  readonly refinements: readonly number[];
  /** Final quantized weight: the lowest of `unrefined` and `refinements`. */
  readonly after: number;
}

/**
 * The result of `quantizeVptqLayer`: the unpacked layer (`packVptqLayer` in `@vptq/pack-format` stores it) plus
 * its measured proxy errors.
 */
export interface VptqLayerResult extends VptqLayerData {
  readonly proxyError: VptqProxyError;
}
