import type { Matrix, VptqLayerResult, VptqOptions } from '@vptq/codebook';
import { isDeviceMatrix } from '@vptq/hessian';
import type { DeviceMatrix, FinalizedHessian, PreparedHessian, PrepareHessianOptions } from '@vptq/hessian';
import type { LlamaConfig } from '@vptq/loader';

import type { CalibrationStream, CollectedHessian } from './calibration-stream';

/**
 * Where `quantize` runs its heavy steps: the calibration stream (decoder layers and Hessians), the Hessian
 * preparation and the VPTQ quantization of one projection. The CPU backend is the reference; the GPU backend
 * runs the same algorithm in WebGPU kernels.
 */
export interface QuantizeBackend {
  readonly kind: 'cpu' | 'gpu';
  /** What it runs on, for the log: `CPU` or `GPU <adapter>`. */
  readonly description: string;
  /** Takes ownership of `embeddings` (`[tokens, hidden]` f32, the embedded calibration tokens). */
  createStream(config: LlamaConfig, embeddings: Float32Array, window: number): Promise<CalibrationStream>;
  /** The preparation with host results, for the scalar baselines (which run on the CPU). */
  prepareHessian(hessian: FinalizedHessian, options: PrepareHessianOptions): Promise<PreparedHessian>;
  /**
   * The preparation for {@link quantizeVptq}: where the backend has a device, the n² matrices stay on it (free
   * them with `releasePrepared`).
   */
  prepareVptqHessian(hessian: CollectedHessian, options: PrepareHessianOptions): Promise<PreparedHessian<Float64Array | DeviceMatrix>>;
  quantizeVptq(weight: Matrix, prepared: PreparedHessian<Float64Array | DeviceMatrix>, options: VptqOptions): Promise<VptqLayerResult>;
  /** Peak bytes of device memory the backend has held (0 on the CPU). */
  peakDeviceBytes(): number;
  /** Whether the device was lost (never on the CPU). */
  lost(): boolean;
  destroy(): void;
}

/** Frees the device matrices of a prepared Hessian (nothing for a host one). */
export function releasePrepared(prepared: PreparedHessian<Float64Array | DeviceMatrix>): void {
  for (const matrix of [prepared.hessian, prepared.inverseCholesky]) if (isDeviceMatrix(matrix)) matrix.destroy();
}
