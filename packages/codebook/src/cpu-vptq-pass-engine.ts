import { toOriginalLayout } from './column-norm';
import { measureProxyError } from './measure-proxy-error';
import { hostMatrix } from './read-prepared';
import { runVptqPass } from './run-vptq-pass';
import type { VptqPassEngine, VptqPassLayer, VptqPassRequest, VptqPassResult, VptqPassSession } from './vptq-pass-engine';

/** A {@link VptqPassSession} whose operations are synchronous: what `quantizeVptqLayer` runs on. */
export interface CpuPassSession extends VptqPassSession {
  runPass(request: VptqPassRequest): VptqPassResult;
  measure(quantized: Float32Array): number;
}

/**
 * The column loop on the CPU: the reference every other engine is compared with. Distances and the lazy
 * update in f64, the working weight in f32; the proxy error in f64 (`proxyError` of `@vptq/hessian`).
 */
export const cpuVptqPassEngine: VptqPassEngine = { openLayer: (layer) => openCpuPassSession(layer) };

/**
 * The CPU engine's session for `layer` (its matrices on the host); nothing to prepare beyond the column → part table.
 *
 * @throws {TypeError} for a layer whose matrices live on a device.
 */
export function openCpuPassSession(input: VptqPassLayer): CpuPassSession {
  const fn = 'cpuVptqPassEngine.openLayer';
  const layer = { ...input, inverseCholesky: hostMatrix(fn, 'layer.inverseCholesky', input.inverseCholesky), hessian: hostMatrix(fn, 'layer.hessian', input.hessian) };
  const columnPart = new Uint32Array(layer.cols);
  layer.parts.forEach((part, partIndex) => columnPart.fill(partIndex, part.start, part.start + part.size));
  const prepared = { perm: layer.perm, hessian: layer.hessian, size: layer.cols };
  const measure = (quantized: Float32Array): number =>
    measureProxyError(layer.weight, toOriginalLayout(quantized, layer.rows, layer.perm, layer.norm), prepared);
  return {
    runPass(request) {
      const pass = runVptqPass(layer, columnPart, request);
      // A loop that overflowed fails the layer; measuring its NaNs would only cost time.
      return { ...pass, proxyError: pass.nonFinite === undefined ? measure(pass.quantized) : Number.NaN };
    },
    measure,
    close() {},
  };
}
