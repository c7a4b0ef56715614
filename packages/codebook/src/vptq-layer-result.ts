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

/** One k-means run of the quantizer: which codebook it built, and how it converged. */
export interface VptqKmeansRun {
  /** `'outlier'` (Ko entries), `'main'` (K) or `'residual'` (Kr, on the first loop's error-compensated residual). */
  readonly codebook: 'outlier' | 'main' | 'residual';
  /** Group g of the codebook (0 for the outlier part). */
  readonly group: number;
  /** Lloyd iterations run, at most `kmeansIterations`. */
  readonly iterations: number;
  /** Whether the tolerance or stable assignments stopped it before `kmeansIterations`. */
  readonly converged: boolean;
  /** The weighted objective Σ wᵢ‖xᵢ − c(xᵢ)‖² after each iteration (`iterations` values, f64, before storage rounding). */
  readonly objectives: readonly number[];
}

/**
 * The result of `quantizeVptqLayer`: the unpacked layer (`packVptqLayer` in `@vptq/pack-format` stores it) plus
 * its measured proxy errors and k-means runs.
 */
export interface VptqLayerResult extends VptqLayerData {
  readonly proxyError: VptqProxyError;
  /** Every k-means run, in the order they ran: the main (and outlier) codebooks by part, then the residual ones. */
  readonly kmeans: readonly VptqKmeansRun[];
}
