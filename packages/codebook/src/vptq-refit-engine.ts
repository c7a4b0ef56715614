import type { DeviceMatrix } from '@vptq/hessian';
import type { FloatTensorDtype, IndexArray } from '@vptq/pack-format';

import type { VptqPart } from './vptq-parts';

/**
 * What stays the same in every codebook refit of one layer (the least-squares problem of `refitCodebooks`).
 * Matrices are `[in, out]` in quantization order, like the column loop's.
 */
export interface VptqRefitLayer {
  /** `[in, out]` f32 target T: the weight in the units the codebooks live in (normalized when norm is on). */
  readonly target: Float32Array;
  /** Output rows of the layer (out). */
  readonly rows: number;
  /** Input columns of the layer (in). */
  readonly cols: number;
  /**
   * `[in, in]` symmetric positive definite H, quantization order (f64 on the host, or on a device, which only that
   * device's engine reads): the objective's weight is D·H·D with D = {@link hessianScale}, so that the objective
   * is the output error in original units.
   */
  readonly hessian: Float64Array | DeviceMatrix;
  /** `[in]` f32 D = the per-column norm scale in quantization order; undefined = I (norm off). */
  readonly hessianScale?: Float32Array;
  /** The outlier part (if any), then the G groups, in column order. */
  readonly parts: readonly VptqPart[];
  /** The refit codebooks are rounded to this dtype (ties to even) before they are returned. */
  readonly storageDtype: FloatTensorDtype;
}

/** One part's codebooks and the indices a column loop chose with them. */
export interface VptqPartAssignment {
  /** `[K, v]` f32. */
  readonly codebook: Float32Array;
  /** `[Kr, v]` f32, present exactly when the part has residual entries (Kr > 0). */
  readonly residualCodebook?: Float32Array;
  /** `[R, size]`: entry (r, s) is the main index of vector r of the part's column s. */
  readonly indices: IndexArray;
  /** `[R, size]` residual indices, with `residualCodebook`. */
  readonly residualIndices?: IndexArray;
}

/** One refit: per part (the layer's order), the codebooks of the latest loop and the indices it chose. */
export interface VptqRefitRequest {
  readonly assignments: readonly VptqPartAssignment[];
}

/** Refit codebooks per part (f32 values of the storage dtype); `residualCodebooks[p]` undefined without one. */
export interface VptqRefitResult {
  /** Per part, `[K, v]` f32. */
  readonly codebooks: Float32Array[];
  /** Per part, `[Kr, v]` f32, or undefined for a part without residual entries. */
  readonly residualCodebooks: (Float32Array | undefined)[];
}

/** The refits of one layer, run against the constants an engine prepared once (a GPU engine keeps them uploaded). */
export interface VptqRefitSession {
  /**
   * The codebooks minimizing `Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o)` for the request's fixed indices (see `refitCodebooks`),
   * rounded to the layer's storage dtype; or undefined when the solve gave a value that is not finite there (the
   * quantizer then stops refining and keeps the codebooks it has).
   */
  refit(request: VptqRefitRequest): VptqRefitResult | undefined | Promise<VptqRefitResult | undefined>;
  /** Frees what the session holds; the quantizer calls it once, after the last refit or on failure. */
  close(): void;
}

/**
 * Where the closed-form codebook refit of the VPTQ quantizer's refinement runs. `quantizeVptqLayer` always uses the
 * CPU engine (`cpuVptqRefitEngine`, the reference: exact f64 solves); `quantizeVptqLayerAsync` takes any engine,
 * e.g. the WebGPU one of `@vptq/kernels-webgpu/quantize`, whose codebooks must minimize the same objective up to its
 * arithmetic's precision. The quantizer keeps the loop output with the lowest proxy error, so a less exact refit
 * can cost refinement rounds but never make a layer worse than its unrefined loop.
 */
export interface VptqRefitEngine {
  /** Prepares one layer; every refit of the layer then runs through the returned session. */
  openLayer(layer: VptqRefitLayer): VptqRefitSession | Promise<VptqRefitSession>;
}
