/**
 * The settings of one quantized layer, as the packed format records them (`VptqLayerConfig` of the HF
 * `quantization_config`, with 0 where that format writes -1 for "none").
 */
export interface VptqLayerConfig {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** v: output rows per vector. */
  readonly vectorLength: number;
  /** K: entries of each main codebook (power of two). */
  readonly centroids: number;
  /** Kr: entries of each residual codebook, 0 for none. */
  readonly residualCentroids: number;
  /** vo: output rows per outlier vector, 0 for no outlier part. */
  readonly outlierVectorLength: number;
  /** Ko: entries of the outlier codebook, 0 for no outlier part. */
  readonly outlierCentroids: number;
  /** O: leading columns (quantization order) in the outlier part. */
  readonly outlierSize: number;
  /** G: number of main codebooks. */
  readonly groups: number;
  /** S: columns per group; O + G·S = inFeatures. */
  readonly groupSize: number;
  /** Whether `weightScale`/`weightBias` are present and applied. */
  readonly norm: boolean;
  /** Whether `perm` is a non-identity column order. */
  readonly perm: boolean;
}

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
 * Everything needed to rebuild (and pack) one VPTQ-quantized linear layer. R = ceil(out/v), Ro = ceil(out/vo),
 * S and O as in {@link VptqLayerConfig}. Index arrays are Uint16Array when their codebook has ≤ 65536 entries,
 * Uint32Array otherwise.
 */
export interface VptqLayerData {
  readonly config: VptqLayerConfig;
  /** G arrays, each `[K, v]` f32 row-major. */
  readonly codebooks: readonly Float32Array[];
  /** G arrays, each `[Kr, v]` f32; empty without residual. */
  readonly residualCodebooks: readonly Float32Array[];
  /** `[Ko, vo]` f32; undefined without outliers. */
  readonly outlierCodebook: Float32Array | undefined;
  /** G arrays, each `[R, S]`: entry (r, s) is the main index of vector r of column O + g·S + s (quantization order). */
  readonly indices: readonly (Uint16Array | Uint32Array)[];
  /** G arrays, each `[R, S]`; empty without residual. */
  readonly residualIndices: readonly (Uint16Array | Uint32Array)[];
  /** `[Ro, O]` u16; undefined without outliers. */
  readonly outlierIndices: Uint16Array | undefined;
  /** `[in]` u32: `perm[p]` is the original column at quantization position p (identity when perm is off). */
  readonly perm: Uint32Array;
  /** `[in]` f32 per-column scale in original column order; undefined when norm is off. */
  readonly weightScale: Float32Array | undefined;
  /** `[in]` f32 per-column bias in original column order; undefined when norm is off. */
  readonly weightBias: Float32Array | undefined;
}

/** The result of `quantizeVptqLayer`: the layer data plus its measured proxy errors. */
export interface VptqLayerResult extends VptqLayerData {
  readonly proxyError: VptqProxyError;
}
