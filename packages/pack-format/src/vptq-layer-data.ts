import type { VptqLayerConfig } from './vptq-layer-config';

/** Indices into a codebook: 16-bit when it has at most 65536 entries, 32-bit otherwise. */
export type IndexArray = Uint16Array | Uint32Array;

/**
 * One VPTQ layer unpacked: f32 codebooks and one index per vector, the form a quantizer produces and
 * `packVptqLayer` turns into the stored tensors (`unpackVptqLayer` is the inverse). With R = ceil(out/v),
 * Ro = ceil(out/vo) and O, S, G as in {@link VptqLayerConfig}; parts the config does not have are empty
 * arrays or undefined.
 */
export interface VptqLayerData {
  readonly config: VptqLayerConfig;
  /** G arrays, each `[K, v]` f32 row-major: entry k of group g is `codebooks[g][k·v … k·v + v)`. */
  readonly codebooks: readonly Float32Array[];
  /** G arrays, each `[Kr, v]` f32; empty without a residual codebook. */
  readonly residualCodebooks: readonly Float32Array[];
  /** `[Ko, vo]` f32; undefined without an outlier part. */
  readonly outlierCodebook: Float32Array | undefined;
  /**
   * G arrays, each `[R, S]`: entry (r, s) is the main index of vector-row r of column O + g·S + s (columns in
   * quantization order). Uint16Array when K ≤ 65536.
   */
  readonly indices: readonly IndexArray[];
  /** G arrays, each `[R, S]` (Uint16Array when Kr ≤ 65536); empty without a residual codebook. */
  readonly residualIndices: readonly IndexArray[];
  /** `[Ro, O]` u16: entry (r, p) indexes the outlier codebook for column p; undefined without outliers. */
  readonly outlierIndices: Uint16Array | undefined;
  /** `[in]` u32: `perm[p]` is the original column at quantization position p (identity when `enablePerm` is off). */
  readonly perm: Uint32Array;
  /** `[in]` f32 per-column scale in original column order; undefined when `enableNorm` is off. */
  readonly weightScale: Float32Array | undefined;
  /** `[in]` f32 per-column shift in original column order; undefined when `enableNorm` is off. */
  readonly weightBias: Float32Array | undefined;
  /** `[out]` f32 layer bias (y = x·Wᵀ + bias); undefined unless `config.bias`. */
  readonly bias: Float32Array | undefined;
}
