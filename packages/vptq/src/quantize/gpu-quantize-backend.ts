import { quantizeVptqLayerAsync } from '@vptq/codebook';
import { prepareHessianAsync } from '@vptq/hessian';
import type { DeviceInfo } from '@vptq/kernels-webgpu';
import { createGpuKmeansEngine, createGpuRefitEngine, createGpuVptqPassEngine, prepareHessianGpu, upperCholeskyOfInverseGpu } from '@vptq/kernels-webgpu/quantize';
import type { GpuRefitOptions } from '@vptq/kernels-webgpu/quantize';

import { createGpuCalibrationStream } from './gpu-calibration-stream';
import type { QuantizeBackend } from './quantize-backend';

/**
 * The WebGPU backend: the calibration stream and its Hessians on the device, the Hessian's preparation for VPTQ on
 * the device too (`prepareHessianGpu`: H and the factor of H⁻¹ never cross to the host), k-means, the column loops
 * and the codebook refit in WebGPU kernels (`quantizeVptqLayerAsync` with the GPU engines); the algorithm's
 * bookkeeping (k-means initialization and centroid updates) stays on the CPU. The scalar baselines get host
 * matrices (`prepareHessianAsync` with the GPU factorization).
 *
 * @param release - frees the device when the backend is destroyed (undefined when the caller owns it).
 * @param tuning - the GPU refit's settings (benchmarks compare them; the quantizer uses the defaults).
 */
export function createGpuQuantizeBackend(
  device: GPUDevice,
  info: DeviceInfo | undefined,
  release?: () => void,
  tuning: { readonly refit?: GpuRefitOptions } = {},
): QuantizeBackend {
  let peak = 0;
  const track = (bytes: number): void => {
    peak = Math.max(peak, bytes);
  };
  let lost = false;
  void device.lost.then(() => {
    lost = true;
  });
  const engine = createGpuVptqPassEngine(device);
  const kmeansEngine = createGpuKmeansEngine(device);
  const refitEngine = createGpuRefitEngine(device, tuning.refit);
  const adapter = info?.adapterInfo;
  const name = adapter ? [adapter.device || adapter.description || adapter.architecture, adapter.vendor && `(${adapter.vendor})`].filter(Boolean).join(' ') : 'caller-provided device';
  return {
    kind: 'gpu',
    description: `GPU ${name}${adapter?.isFallbackAdapter ? ', a software adapter' : ''}`,
    createStream: (config, embeddings, window) => createGpuCalibrationStream(device, config, embeddings, window, track),
    prepareHessian: (hessian, options) => prepareHessianAsync(hessian, { ...options, factorize: (matrix) => upperCholeskyOfInverseGpu(device, matrix) }),
    prepareVptqHessian: (hessian, options) => prepareHessianGpu(device, hessian, options),
    quantizeVptq: (weight, prepared, options) => quantizeVptqLayerAsync(weight, prepared, { ...options, engine, kmeansEngine, refitEngine }),
    peakDeviceBytes: () => peak,
    lost: () => lost,
    destroy() {
      release?.();
    },
  };
}
