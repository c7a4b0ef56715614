import type { VptqRefitLayer } from '@vptq/codebook/engine';
import { GpuRefitSession } from './gpu-refit-session';
import { readGpuRefitTuning } from './plan-gpu-refit';

/** Tuning of the GPU codebook refit; every field is optional. */
export interface GpuRefitOptions {
  /**
   * `'dense'`: the exact normal matrix (64-bit fixed-point sums) and its f32 Cholesky factor as the preconditioner
   * of CG; `'cg'`: matrix-free CG (products through H̃ by GEMM) with the Jacobi preconditioner; `'auto'` (default):
   * dense where a block has at most `maxDenseUnknowns` slots and that is the cheaper by a flop count, unless one
   * matrix-free product is a large GEMM (out·w² ≥ 2³², e.g. every projection of a 7B model), where matrix-free
   * measured faster; else matrix-free.
   */
  readonly solver?: 'auto' | 'dense' | 'cg';
  /** Most slots (K + Kr over a block's parts) of a dense block, ≤ 65534. Default 8192 (256 MB per f32 matrix). */
  readonly maxDenseUnknowns?: number;
  /**
   * Most CG iterations per block and sweep (all v codebook columns iterate together). Default 100, as the CPU's,
   * except 25 where one product is a large GEMM (out·w² ≥ 2³²): 25 keep 98–99.7% of the exact refit's decrease at a
   * quarter of the cost (kernels-webgpu README).
   */
  readonly cgIterations?: number;
  /**
   * A column stops once ‖r‖ ≤ cgTolerance·‖r₀‖. Default 1e-6: about where f32 products leave the residual (the CPU's
   * f64 solve uses 1e-8; below the rounding floor the steps are ratios of noise, measured to blow up).
   */
  readonly cgTolerance?: number;
  /** Alternations between the groups and an outlier part of another vector length. Default 4, as the CPU's. */
  readonly sweeps?: number;
}

/** The GPU refit engine: `openLayer` uploads a layer and resolves to its session. */
export interface GpuRefitEngine {
  openLayer(layer: VptqRefitLayer): Promise<GpuRefitSession>;
}

/**
 * The closed-form codebook refit of `@vptq/codebook`'s VPTQ refinement on WebGPU: give it to
 * `quantizeVptqLayerAsync(weight, prepared, { …, refitEngine })`. Each refit solves the CPU refit's least-squares
 * problem (`refitCodebooks`: per block of parts, the codebooks minimizing Σ_o (q_o − t_o)ᵀ·H̃·(q_o − t_o) for fixed
 * indices, with the same 1e-9 relative ridge toward the current codebooks and the same sweeps between an outlier
 * block and the groups) by preconditioned conjugate gradients in f32 on the GPU, and rounds the result to the storage
 * dtype on the host. Dense blocks build the normal matrix exactly and precondition with its f32 Cholesky factor
 * (a few iterations); larger blocks run matrix-free, each product one reconstruction, one GEMM with H̃ and one gather.
 *
 * @param device - a device with the adapter's limits (the layer's `[in, out]` f32 matrices and H̃ must each fit
 *   `maxStorageBufferBindingSize`).
 * @throws {RangeError} for options out of range.
 */
export function createGpuRefitEngine(device: GPUDevice, options: GpuRefitOptions = {}): GpuRefitEngine {
  const tuning = readGpuRefitTuning('createGpuRefitEngine', options);
  return { openLayer: (layer) => GpuRefitSession.open(device, layer, tuning) };
}
