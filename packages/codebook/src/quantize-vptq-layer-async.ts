import type { DeviceMatrix, PreparedHessian } from '@vptq/hessian';
import type { Matrix } from '@vptq/kmeans';
import type { AsyncKmeansEngineFactory } from '@vptq/kmeans/engine';

import { cpuVptqPassEngine } from './cpu-vptq-pass-engine';
import { cpuVptqRefitEngine } from './cpu-vptq-refit-engine';
import { describe } from './validate';
import type { VptqLayerResult } from './vptq-layer-result';
import { vptqLayerSteps } from './vptq-layer-steps';
import type { VptqRun } from './vptq-layer-steps';
import type { VptqOptions } from './vptq-options';
import type { VptqPassEngine, VptqPassLayer, VptqPassRequest, VptqPassResult, VptqPassSession } from './vptq-pass-engine';
import type { VptqRefitEngine, VptqRefitLayer, VptqRefitRequest, VptqRefitResult, VptqRefitSession } from './vptq-refit-engine';
import { performCluster, performClusterAsync } from './vptq-steps';
import type { VptqSteps } from './vptq-steps';

/** Options of {@link quantizeVptqLayerAsync}: those of `quantizeVptqLayer` plus the engines. */
export interface VptqAsyncOptions extends VptqOptions {
  /**
   * Where the column loops and their proxy errors run, e.g. `createGpuVptqPassEngine(device)` of
   * `@vptq/kernels-webgpu/quantize`. Default: the CPU engine, which gives exactly `quantizeVptqLayer`'s result.
   */
  readonly engine?: VptqPassEngine;
  /**
   * Where the k-means runs (the per-iteration work; the algorithm stays in `@vptq/kmeans`), e.g.
   * `createGpuKmeansEngine(device)` of `@vptq/kernels-webgpu/quantize`. Default: the CPU, as `quantizeVptqLayer`.
   */
  readonly kmeansEngine?: AsyncKmeansEngineFactory;
  /**
   * Where the closed-form codebook refit of each refinement round runs, e.g. `createGpuRefitEngine(device)` of
   * `@vptq/kernels-webgpu/quantize`. Default: the CPU engine (`cpuVptqRefitEngine`), which gives exactly
   * `quantizeVptqLayer`'s result.
   */
  readonly refitEngine?: VptqRefitEngine;
}

const fn = 'quantizeVptqLayerAsync';

/**
 * `quantizeVptqLayer` with its column loops (first pass, second pass with the residual codebooks, one per
 * refinement round) and their proxy errors run by `options.engine`, awaited. The algorithm is the same code as
 * the synchronous quantizer's; k-means runs on `options.kmeansEngine` and the codebook refit of each refinement
 * round on `options.refitEngine` (both default to the CPU). With the CPU engines (the defaults) the result is
 * identical to `quantizeVptqLayer`'s; GPU engines compute in f32, so near-tie index choices and the proxy errors'
 * last digits can differ.
 *
 * @param weight - `[out, in]` f32 `nn.Linear` weight, finite.
 * @param prepared - `prepareHessian` of this layer's `[in, in]` input Hessian, or `prepareHessianGpu`'s (its
 *   matrices on the device, for GPU engines of that device only).
 * @param options - as for `quantizeVptqLayer`, plus `engine`, `kmeansEngine` and `refitEngine`.
 * @returns the unpacked layer and its proxy errors, as `quantizeVptqLayer`.
 * @throws as `quantizeVptqLayer`, plus {TypeError} for an engine without `openLayer`, a malformed pass or refit
 *   result, and whatever an engine throws (the sessions are closed first).
 */
export async function quantizeVptqLayerAsync(weight: Matrix, prepared: PreparedHessian<Float64Array | DeviceMatrix>, options: VptqAsyncOptions): Promise<VptqLayerResult> {
  return (await runVptqAsync(weight, prepared, options)).result;
}

/** {@link quantizeVptqLayerAsync}, also returning the column loop's own output. */
export async function runVptqAsync(weight: Matrix, prepared: PreparedHessian<Float64Array | DeviceMatrix>, options: VptqAsyncOptions): Promise<VptqRun> {
  const engine = options?.engine ?? cpuVptqPassEngine;
  if (typeof engine !== 'object' || engine === null || typeof engine.openLayer !== 'function') {
    throw new TypeError(`${fn}: engine must be an object with an openLayer function (got ${describe(engine)})`);
  }
  const kmeansEngine = options.kmeansEngine;
  if (kmeansEngine !== undefined && typeof kmeansEngine !== 'function') {
    throw new TypeError(`${fn}: kmeansEngine must be a k-means engine factory (got ${describe(kmeansEngine)})`);
  }
  const refitEngine = options.refitEngine ?? cpuVptqRefitEngine;
  if (typeof refitEngine !== 'object' || refitEngine === null || typeof refitEngine.openLayer !== 'function') {
    throw new TypeError(`${fn}: refitEngine must be an object with an openLayer function (got ${describe(refitEngine)})`);
  }
  return performAsync(vptqLayerSteps(fn, weight, prepared, options), { engine, kmeansEngine, refitEngine });
}

interface Engines {
  readonly engine: VptqPassEngine;
  readonly kmeansEngine: AsyncKmeansEngineFactory | undefined;
  readonly refitEngine: VptqRefitEngine;
}

/** Performs every step, awaiting the engines'. */
async function performAsync<T>(steps: VptqSteps<T>, { engine, kmeansEngine, refitEngine }: Engines): Promise<T> {
  let session: VptqPassSession | undefined;
  let layer: VptqPassLayer | undefined;
  let refitSession: VptqRefitSession | undefined;
  let refitLayer: VptqRefitLayer | undefined;
  const open = (): VptqPassSession => {
    if (session === undefined) throw new Error(`${fn}: a pass step came before the layer was opened`);
    return session;
  };
  const openRefit = async (next: VptqRefitLayer): Promise<VptqRefitSession> => {
    if (refitSession === undefined || refitLayer !== next) {
      refitSession?.close();
      refitSession = undefined;
      refitSession = await refitEngine.openLayer(next);
      refitLayer = next;
    }
    return refitSession;
  };
  try {
    let next = steps.next();
    while (next.done !== true) {
      const step = next.value;
      let value: unknown;
      if (step.kind === 'open') {
        layer = step.layer;
        session = await engine.openLayer(step.layer);
      } else if (step.kind === 'cluster') {
        value = kmeansEngine ? await performClusterAsync(step.cluster, kmeansEngine) : performCluster(step.cluster);
      } else if (step.kind === 'pass') {
        value = checkPassResult(layer as VptqPassLayer, step.request, await open().runPass(step.request));
      } else if (step.kind === 'refit') {
        value = checkRefitResult(step.layer, step.request, await (await openRefit(step.layer)).refit(step.request));
      } else {
        value = await open().measure(step.quantized);
        if (typeof value !== 'number') throw new TypeError(`${fn}: the engine's measure must return a number (got ${describe(value)})`);
      }
      next = steps.next(value);
    }
    return next.value;
  } finally {
    try {
      refitSession?.close();
    } finally {
      session?.close();
    }
  }
}

/**
 * Checks the shapes of an engine's pass result, so that a faulty engine fails here and not as a corrupt layer. The
 * quantized weight is checked when it is read (an engine may build it only then, and most loops' is never read).
 *
 * @throws {TypeError} naming the field that has the wrong type or length.
 */
function checkPassResult(layer: VptqPassLayer, request: VptqPassRequest, result: VptqPassResult): VptqPassResult {
  const size = layer.rows * layer.cols;
  const fail = (what: string, got: unknown): never => {
    throw new TypeError(`${fn}: the engine's pass result must have ${what} (got ${describe(got)})`);
  };
  if (typeof result !== 'object' || result === null) fail('fields', result);
  if (request.keepResidual && (!(result.residual instanceof Float32Array) || result.residual.length !== size)) {
    fail(`residual: Float32Array(${size})`, result.residual);
  }
  if (typeof result.proxyError !== 'number') fail('a numeric proxyError', result.proxyError);
  layer.parts.forEach((part, index) => {
    const count = part.vectorRows * part.size;
    const indices = result.indices?.[index];
    if (!(indices instanceof (part.numCentroids <= 65536 ? Uint16Array : Uint32Array)) || indices.length !== count) {
      fail(`indices[${index}]: ${part.numCentroids <= 65536 ? 'Uint16Array' : 'Uint32Array'}(${count})`, indices);
    }
    const residual = result.residualIndices?.[index];
    const searched = request.residualCodebooks?.[index] !== undefined;
    if (searched && (!(residual instanceof (part.numResidualCentroids <= 65536 ? Uint16Array : Uint32Array)) || residual.length !== count)) {
      fail(`residualIndices[${index}] of ${count} entries`, residual);
    }
    if (!searched && residual !== undefined) fail(`residualIndices[${index}] undefined (no residual codebook)`, residual);
  });
  const { residual, indices, residualIndices, proxyError, nonFinite } = result;
  return {
    get quantized() {
      const quantized = result.quantized;
      if (!(quantized instanceof Float32Array) || quantized.length !== size) fail(`quantized: Float32Array(${size})`, quantized);
      return quantized;
    },
    residual,
    indices,
    residualIndices,
    proxyError,
    nonFinite,
  };
}

/**
 * Checks the shapes of a refit engine's result (undefined is allowed: the quantizer stops refining), so that a faulty
 * engine fails here and not as a corrupt layer.
 *
 * @throws {TypeError} naming the codebook that has the wrong type or length.
 */
function checkRefitResult(layer: VptqRefitLayer, request: VptqRefitRequest, result: VptqRefitResult | undefined): VptqRefitResult | undefined {
  if (result === undefined) return undefined;
  const fail = (what: string, got: unknown): never => {
    throw new TypeError(`${fn}: the refit engine's result must have ${what} (got ${describe(got)})`);
  };
  const count = layer.parts.length;
  if (!Array.isArray(result?.codebooks) || result.codebooks.length !== count) fail(`codebooks: one per part (${count})`, result?.codebooks);
  if (!Array.isArray(result.residualCodebooks) || result.residualCodebooks.length !== count) {
    fail(`residualCodebooks: one entry per part (${count})`, result.residualCodebooks);
  }
  layer.parts.forEach((part, index) => {
    const codebook = result.codebooks[index];
    const size = part.numCentroids * part.vectorLength;
    if (!(codebook instanceof Float32Array) || codebook.length !== size) fail(`codebooks[${index}]: Float32Array(${size})`, codebook);
    const residual = result.residualCodebooks[index];
    const residualSize = part.numResidualCentroids * part.vectorLength;
    if (request.assignments[index]?.residualCodebook === undefined) {
      if (residual !== undefined) fail(`residualCodebooks[${index}] undefined (no residual codebook in the request)`, residual);
    } else if (!(residual instanceof Float32Array) || residual.length !== residualSize) {
      fail(`residualCodebooks[${index}]: Float32Array(${residualSize})`, residual);
    }
  });
  return result;
}
