import { hostMatrix } from './read-prepared';
import { scaleHessian } from './refine-vptq';
import { refitCodebooks } from './refit-codebooks';
import type { VptqRefitEngine, VptqRefitLayer, VptqRefitRequest, VptqRefitResult, VptqRefitSession } from './vptq-refit-engine';

/** A {@link VptqRefitSession} whose refit is synchronous: what `quantizeVptqLayer` runs on. */
export interface CpuRefitSession extends VptqRefitSession {
  refit(request: VptqRefitRequest): VptqRefitResult | undefined;
}

/**
 * The codebook refit on the CPU: `refitCodebooks` with its defaults (f64, dense Cholesky up to 4096 unknowns per
 * block where it is cheaper, Jacobi-preconditioned CG beyond, 4 sweeps with an outlier block of another vector
 * length). The reference every other refit engine is compared with.
 */
export const cpuVptqRefitEngine: VptqRefitEngine = { openLayer: (layer) => openCpuRefitSession(layer) };

/**
 * The CPU engine's session for `layer`: D·H·D once (the layer's `hessian` scaled by `hessianScale`), then each
 * refit reads it.
 *
 * @throws {TypeError} for a layer whose Hessian lives on a device.
 */
export function openCpuRefitSession(layer: VptqRefitLayer): CpuRefitSession {
  const hessian = scaleHessian(hostMatrix('cpuVptqRefitEngine.openLayer', 'layer.hessian', layer.hessian), layer.cols, layer.hessianScale);
  const input = { target: layer.target, rows: layer.rows, cols: layer.cols, hessian, parts: layer.parts };
  return {
    refit: (request) => refitCodebooks(input, request.assignments, { storageDtype: layer.storageDtype }),
    close() {},
  };
}
