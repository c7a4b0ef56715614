import type { IndexArray } from '@vptq/pack-format';

// Structural twins of `@vptq/codebook/engine`'s `VptqPassLayer`, `VptqPassRequest`, `VptqPassResult` and
// `VptqPart`: this package does not depend on @vptq/codebook at run time (the facade wires the GPU engine into the
// quantizer); a type test checks that the GPU engine is assignable to codebook's `VptqPassEngine`.

/** One range of columns (quantization order) sharing a codebook: the outlier part or one group. */
export interface GpuVptqPart {
  readonly start: number;
  readonly size: number;
  /** v, 1–16 here. */
  readonly vectorLength: number;
  /** R = ceil(rows / v). */
  readonly vectorRows: number;
  readonly numCentroids: number;
  /** Kr, 0 for none. */
  readonly numResidualCentroids: number;
}

/** A layer's constants for every pass; matrices `[in, out]` in quantization order unless said otherwise. */
export interface GpuVptqPassLayer {
  readonly rows: number;
  readonly cols: number;
  /** `[cols, rows]` f32 normalized weight, dead columns zero: the loop's starting point. */
  readonly start: Float32Array;
  /** `[cols, cols]` f64 upper Cholesky factor U of H⁻¹. */
  readonly inverseCholesky: Float64Array;
  /** `[cols]` f64 D of the scale-aware objective, or undefined (D = I). */
  readonly columnScale: Float64Array | undefined;
  readonly blockSize: number;
  readonly parts: readonly GpuVptqPart[];
  /** `[rows, cols]` f32 weight as given, original column order (the proxy error's reference). */
  readonly weight: { readonly data: Float32Array; readonly rows: number; readonly cols: number };
  /** `[cols, cols]` f64 H of the proxy error, quantization order. */
  readonly hessian: Float64Array;
  /** `[cols]` original column at each quantization position. */
  readonly perm: Uint32Array;
  /** `[cols]` f32 scale and bias, original column order; undefined = norm off. */
  readonly norm: { readonly scale: Float32Array; readonly bias: Float32Array } | undefined;
}

/** One pass's codebooks: `[K, v]` f32 per part, `[Kr, v]` per part with residual entries (or none at all). */
export interface GpuVptqPassRequest {
  readonly codebooks: readonly Float32Array[];
  readonly residualCodebooks?: readonly (Float32Array | undefined)[];
  readonly keepResidual: boolean;
  readonly onFraction?: (fraction: number) => void;
}

/** A pass's outputs, read back once. */
export interface GpuVptqPassResult {
  /** `[cols, rows]` f32 quantized weight, normalized units. */
  readonly quantized: Float32Array;
  /** `[cols, rows]` f32 error-compensated residual, with `keepResidual`. */
  readonly residual: Float32Array | undefined;
  /** Per part `[R, size]`: Uint16Array for K ≤ 65536, else Uint32Array. */
  readonly indices: readonly IndexArray[];
  readonly residualIndices: readonly (IndexArray | undefined)[];
  /** tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ), computed on the GPU in f32 and summed per tile in f64. */
  readonly proxyError: number;
  /** The first column whose error-compensated values went NaN or infinite. */
  readonly nonFinite?: { readonly column: number };
}
