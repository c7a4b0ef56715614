import type { DeviceMatrix } from '@vptq/hessian';
import type { Matrix } from '@vptq/kmeans';
import type { IndexArray } from '@vptq/pack-format';

import type { VptqPart } from './vptq-parts';

/**
 * What stays the same in every column loop of one layer. Matrices in the loop's layout are stored transposed,
 * `[in, out]` in quantization order: column p of the permuted weight is `[p·rows, (p+1)·rows)`.
 */
export interface VptqPassLayer {
  /** Output rows of the layer (out). */
  readonly rows: number;
  /** Input columns of the layer (in). */
  readonly cols: number;
  /** `[in, out]` f32 weight the loop starts from: normalized, dead columns zeroed, quantization order. */
  readonly start: Float32Array;
  /**
   * `[in, in]` upper Cholesky factor U of H⁻¹, quantization order: f64 on the host, or kept on a device
   * (`prepareHessianGpu`), which only that device's engine reads.
   */
  readonly inverseCholesky: Float64Array | DeviceMatrix;
  /** `[in]` f64 D of the scale-aware objective (the loop then uses U·D⁻¹), quantization order; undefined = I. */
  readonly columnScale: Float64Array | undefined;
  /** Columns per lazy-update block (GPTQ's B), ≥ 1. */
  readonly blockSize: number;
  /** The outlier part (if any), then the G groups, in column order; together they cover every column once. */
  readonly parts: readonly VptqPart[];
  /** The proxy error's reference: the `[out, in]` f32 weight as given, original column order. */
  readonly weight: Matrix;
  /** `[in, in]` H of the proxy error (`prepareHessian`'s `hessian`), quantization order: f64, or on a device. */
  readonly hessian: Float64Array | DeviceMatrix;
  /** `[in]` u32 original column at each quantization position. */
  readonly perm: Uint32Array;
  /** `[in]` f32 per-column norm, original column order: the weight is `q·scale + bias`; undefined = norm off. */
  readonly norm: { readonly scale: Float32Array; readonly bias: Float32Array } | undefined;
}

/** One column loop's codebooks and what it should return. */
export interface VptqPassRequest {
  /** Per part, `[K, v]` f32 main codebook (K, v of the part). */
  readonly codebooks: readonly Float32Array[];
  /**
   * Per part, `[Kr, v]` f32 residual codebook, or undefined for a part searched without one (always the outlier
   * part). Omitted: no residual search at all (the first pass).
   */
  readonly residualCodebooks?: readonly (Float32Array | undefined)[];
  /** Also return the error-compensated residual (for the residual k-means). */
  readonly keepResidual: boolean;
  /** Progress: hears 0 first, 1 last, and the share of columns done in between if the engine knows it. */
  readonly onFraction?: (fraction: number) => void;
}

/** What one column loop produced. */
export interface VptqPassResult {
  /** `[in, out]` f32 quantized weight (normalized units, quantization order). */
  readonly quantized: Float32Array;
  /** `[in, out]` f32 error-compensated residual `working − quantized`, when `keepResidual` asked for it. */
  readonly residual: Float32Array | undefined;
  /** Per part, `[R, size]` main indices: entry (r, s) is vector r of the part's column s. */
  readonly indices: readonly IndexArray[];
  /** Per part, `[R, size]` residual indices, undefined where the part was searched without a residual codebook. */
  readonly residualIndices: readonly (IndexArray | undefined)[];
  /** `tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ)` of `quantized` in original units against `layer.weight` (see {@link VptqPassSession.measure}). */
  readonly proxyError: number;
  /**
   * The first column (quantization order) whose error-compensated values became NaN or infinite, with one such
   * value when the engine knows it; undefined when the loop stayed finite. The quantizer turns it into
   * `CodebookError('VPTQ_CODEBOOK_NON_FINITE')`.
   */
  readonly nonFinite?: { readonly column: number; readonly value?: number };
}

/** The passes of one layer, run against the constants an engine prepared once (a GPU engine keeps them uploaded). */
export interface VptqPassSession {
  /**
   * One full column loop from `layer.start` with fixed codebooks (spec §3): per column, the Euclidean-nearest
   * main entry of every vector (ties to the lower index), the greedy nearest residual entry, the scaled error,
   * its update of the rest of the block, and after every block the lazy update of the later columns.
   */
  runPass(request: VptqPassRequest): VptqPassResult | Promise<VptqPassResult>;
  /**
   * The proxy error `tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ)` of a `[in, out]` quantized weight in normalized units and
   * quantization order: ΔW = (q·scale + bias, un-permuted) − `layer.weight`, H = `layer.hessian`.
   */
  measure(quantized: Float32Array): number | Promise<number>;
  /** Frees what the session holds; the quantizer calls it once, after the last pass or on failure. */
  close(): void;
}

/**
 * Where the column loop of the VPTQ quantizer runs. `quantizeVptqLayer` always uses the CPU engine
 * (`cpuVptqPassEngine`, the reference); `quantizeVptqLayerAsync` takes any engine, e.g. the WebGPU one of
 * `@vptq/kernels-webgpu/quantize`, which must return what the CPU engine returns up to f32 rounding.
 */
export interface VptqPassEngine {
  /** Prepares one layer; every pass of the layer then runs through the returned session. */
  openLayer(layer: VptqPassLayer): VptqPassSession | Promise<VptqPassSession>;
}
