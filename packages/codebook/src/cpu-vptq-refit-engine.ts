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

/** The CPU engine's session for `layer`: nothing to prepare, each refit reads the layer as it is. */
export function openCpuRefitSession(layer: VptqRefitLayer): CpuRefitSession {
  const input = { target: layer.target, rows: layer.rows, cols: layer.cols, hessian: layer.hessian, parts: layer.parts };
  return {
    refit: (request) => refitCodebooks(input, request.assignments, { storageDtype: layer.storageDtype }),
    close() {},
  };
}
