import { quantizeVptqLayer } from '@vptq/codebook';
import { prepareHessian } from '@vptq/hessian';

import { createCpuCalibrationStream } from './cpu-calibration-stream';
import type { QuantizeBackend } from './quantize-backend';

/** The reference backend: the CPU decoder, f64 Hessians, `prepareHessian` and `quantizeVptqLayer`. */
export function createCpuQuantizeBackend(): QuantizeBackend {
  return {
    kind: 'cpu',
    description: 'CPU',
    createStream: async (config, embeddings, window) => createCpuCalibrationStream(config, embeddings, window),
    prepareHessian: async (hessian, options) => prepareHessian(hessian, options),
    quantizeVptq: async (weight, prepared, options) => quantizeVptqLayer(weight, prepared, options),
    peakDeviceBytes: () => 0,
    lost: () => false,
    destroy() {},
  };
}
