import { quantizeVptqLayer } from '@vptq/codebook';
import { isDeviceMatrix, prepareHessian } from '@vptq/hessian';
import type { PreparedHessian } from '@vptq/hessian';

import { isOnDevice } from './calibration-stream';
import { createCpuCalibrationStream } from './cpu-calibration-stream';
import type { QuantizeBackend } from './quantize-backend';

/** The reference backend: the CPU decoder, f64 Hessians, `prepareHessian` and `quantizeVptqLayer`. */
export function createCpuQuantizeBackend(): QuantizeBackend {
  return {
    kind: 'cpu',
    description: 'CPU',
    createStream: async (config, embeddings, window) => createCpuCalibrationStream(config, embeddings, window),
    prepareHessian: async (hessian, options) => prepareHessian(hessian, options),
    prepareVptqHessian: async (hessian, options) => {
      if (isOnDevice(hessian)) throw new TypeError('the CPU backend prepares host Hessians only (got one kept on a GPU)');
      return prepareHessian(hessian, options);
    },
    quantizeVptq: async (weight, prepared, options) => {
      if (isDeviceMatrix(prepared.inverseCholesky) || isDeviceMatrix(prepared.hessian)) {
        throw new TypeError('the CPU backend quantizes with host matrices only (got a Hessian prepared on a GPU)');
      }
      return quantizeVptqLayer(weight, prepared as PreparedHessian, options);
    },
    peakDeviceBytes: () => 0,
    lost: () => false,
    destroy() {},
  };
}
