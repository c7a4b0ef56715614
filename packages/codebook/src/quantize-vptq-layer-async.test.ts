import { createCpuKmeansEngine } from '@vptq/kmeans/engine';
import type { AsyncKmeansEngineFactory } from '@vptq/kmeans/engine';
import { describe, expect, it } from 'vitest';

import { cpuVptqPassEngine } from './cpu-vptq-pass-engine';
import { cpuVptqRefitEngine } from './cpu-vptq-refit-engine';
import { quantizeVptqLayer, runVptq } from './quantize-vptq-layer';
import { quantizeVptqLayerAsync, runVptqAsync } from './quantize-vptq-layer-async';
import type { VptqOptions, VptqPhase } from './vptq-options';
import type { VptqPassEngine, VptqPassLayer, VptqPassResult } from './vptq-pass-engine';
import type { VptqRefitEngine, VptqRefitLayer, VptqRefitResult } from './vptq-refit-engine';
import { randomPreparedHessian, randomWeight } from './test/random-layer';

const rows = 30;
const cols = 48;
const weight = randomWeight(rows, cols, 1);
const prepared = randomPreparedHessian(cols, 2);
const full: VptqOptions = {
  kmeansIterations: 20,
  vectorLength: 4,
  numCentroids: 32,
  numResidualCentroids: 8,
  outlierPercent: 5,
  outlierVectorLength: 2,
  numOutlierCentroids: 16,
  groupNum: 2,
  blockSize: 16,
  refineIterations: 4,
};

/** The CPU engine behind a recorder: every call it sees, and whether its sessions were closed. */
function recordingEngine(fail?: { afterPasses: number }): { engine: VptqPassEngine; calls: string[]; layers: VptqPassLayer[] } {
  const calls: string[] = [];
  const layers: VptqPassLayer[] = [];
  let passes = 0;
  const engine: VptqPassEngine = {
    async openLayer(layer) {
      calls.push('open');
      layers.push(layer);
      const session = await cpuVptqPassEngine.openLayer(layer);
      return {
        async runPass(request) {
          calls.push(request.residualCodebooks === undefined ? 'pass' : 'pass+residual');
          if (fail !== undefined && passes++ >= fail.afterPasses) throw new Error('engine failed');
          return session.runPass(request);
        },
        async measure(quantized) {
          calls.push('measure');
          return session.measure(quantized);
        },
        close() {
          calls.push('close');
          session.close();
        },
      };
    },
  };
  return { engine, calls, layers };
}

/** The CPU refit engine behind a recorder; `change` may alter each result. */
function recordingRefitEngine(change?: (result: VptqRefitResult | undefined, call: number) => VptqRefitResult | undefined): {
  engine: VptqRefitEngine;
  calls: string[];
  layers: VptqRefitLayer[];
} {
  const calls: string[] = [];
  const layers: VptqRefitLayer[] = [];
  const engine: VptqRefitEngine = {
    async openLayer(layer) {
      calls.push('open');
      layers.push(layer);
      const session = await cpuVptqRefitEngine.openLayer(layer);
      let count = 0;
      return {
        async refit(request) {
          calls.push('refit');
          const result = await session.refit(request);
          return change === undefined ? result : change(result, count++);
        },
        close() {
          calls.push('close');
          session.close();
        },
      };
    },
  };
  return { engine, calls, layers };
}

describe('quantizeVptqLayerAsync', () => {
  it('runs every k-means on kmeansEngine (the CPU engine behind an async factory gives exactly the synchronous result)', async () => {
    const runs: number[] = [];
    const cpu = createCpuKmeansEngine();
    const kmeansEngine: AsyncKmeansEngineFactory = async (input) => {
      runs.push(input.k);
      return cpu(input);
    };
    const sync = quantizeVptqLayer(weight, prepared, full);
    const viaEngine = await quantizeVptqLayerAsync(weight, prepared, { ...full, kmeansEngine });
    expect(viaEngine).toEqual(sync);
    // Two groups, each a main and a residual codebook, and the outlier codebook.
    expect(runs.sort((a, b) => a - b)).toEqual([8, 8, 16, 32, 32]);
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, kmeansEngine: 3 as never })).rejects.toThrow(/kmeansEngine must be a k-means engine factory/);
  });

  it("picks k-means++ under 'auto' only where it is cheap", () => {
    const auto = quantizeVptqLayer(weight, prepared, { ...full, kmeansInit: 'auto' });
    expect(auto).toEqual(quantizeVptqLayer(weight, prepared, { ...full, kmeansInit: 'kmeans++' }));
    expect(auto).toEqual(quantizeVptqLayer(weight, prepared, full));
    expect(auto).not.toEqual(quantizeVptqLayer(weight, prepared, { ...full, kmeansInit: 'random' }));
  });

  it('gives exactly the synchronous result with the default (CPU) engine', async () => {
    for (const options of [full, { ...full, numResidualCentroids: 0, scaleAwareObjective: false }, { ...full, enableNorm: false }]) {
      const sync = runVptq(weight, prepared, options);
      const async = await runVptqAsync(weight, prepared, options);
      expect(async.result).toEqual(sync.result);
      expect(async.quantizedWeight).toEqual(sync.quantizedWeight);
    }
    expect(await quantizeVptqLayerAsync(weight, prepared, { ...full, seed: 3 })).toEqual(quantizeVptqLayer(weight, prepared, { ...full, seed: 3 }));
  });

  it('runs every pass and proxy error through the engine, in one session it closes', async () => {
    const { engine, calls, layers } = recordingEngine();
    const result = await quantizeVptqLayerAsync(weight, prepared, { ...full, engine });
    expect(result).toEqual(quantizeVptqLayer(weight, prepared, full));
    // k-means assignment error, pass 1 (keeping the residual), pass 2, then one pass per refinement round.
    expect(calls.slice(0, 4)).toEqual(['open', 'measure', 'pass', 'pass+residual']);
    expect(calls.filter((call) => call === 'pass+residual').length).toBe(1 + result.proxyError.refinements.length);
    expect(calls.filter((call) => call === 'open').length).toBe(1);
    expect(calls.at(-1)).toBe('close');
    // The layer an engine gets: the loop's layout and what the proxy error needs.
    const [layer] = layers;
    expect(layer.start.length).toBe(rows * cols);
    expect(layer.parts.map((part) => [part.start, part.size, part.vectorLength, part.numResidualCentroids])).toEqual([
      [0, 4, 2, 0],
      [4, 22, 4, 8],
      [26, 22, 4, 8],
    ]);
    expect(layer.perm).toEqual(prepared.perm);
    expect(layer.columnScale?.length).toBe(cols);
    expect(layer.norm?.scale).toEqual(result.weightScale);
  });

  it('reports the same progress as the synchronous quantizer', async () => {
    const events = (into: [VptqPhase, number][]) => (phase: VptqPhase, fraction: number) => into.push([phase, fraction]);
    const sync: [VptqPhase, number][] = [];
    const async: [VptqPhase, number][] = [];
    quantizeVptqLayer(weight, prepared, { ...full, onProgress: events(sync) });
    await quantizeVptqLayerAsync(weight, prepared, { ...full, onProgress: events(async) });
    expect(async).toEqual(sync);
  });

  it('closes the session when the engine fails, and passes the failure on', async () => {
    const { engine, calls } = recordingEngine({ afterPasses: 1 });
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, engine })).rejects.toThrow('engine failed');
    expect(calls.at(-1)).toBe('close');
  });

  it('turns a pass that overflowed into VPTQ_CODEBOOK_NON_FINITE', async () => {
    const engine: VptqPassEngine = {
      async openLayer(layer) {
        const session = await cpuVptqPassEngine.openLayer(layer);
        return { ...session, runPass: async (request) => ({ ...(await session.runPass(request)), nonFinite: { column: 7 } }) };
      },
    };
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, engine })).rejects.toMatchObject({
      name: 'CodebookError',
      code: 'VPTQ_CODEBOOK_NON_FINITE',
      message: expect.stringMatching(/column 7 in quantization order became non-finite/),
    });
  });

  it('rejects an engine without openLayer and malformed pass results, naming the field', async () => {
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, engine: {} as never })).rejects.toThrow(
      /engine must be an object with an openLayer function/,
    );
    const broken = (change: (result: VptqPassResult) => Partial<VptqPassResult>): VptqPassEngine => ({
      async openLayer(layer) {
        const session = await cpuVptqPassEngine.openLayer(layer);
        return { ...session, runPass: async (request) => {
          const result = await session.runPass(request);
          return { ...result, ...change(result) };
        } };
      },
    });
    const run = (engine: VptqPassEngine) => quantizeVptqLayerAsync(weight, prepared, { ...full, engine });
    // The quantized weight is checked when it is read: the layer itself is made of indices and codebooks.
    const weightOf = async (engine: VptqPassEngine) => (await runVptqAsync(weight, prepared, { ...full, engine })).quantizedWeight;
    await expect(weightOf(broken(() => ({ quantized: new Float32Array(3) })))).rejects.toThrow(/quantized: Float32Array\(1440\) \(got Float32Array\(3\)\)/);
    await expect(run(broken((result) => ({ indices: result.indices.map((indices) => Uint32Array.from(indices)) })))).rejects.toThrow(
      /indices\[0\]: Uint16Array\(60\)/,
    );
    await expect(run(broken(() => ({ residual: undefined })))).rejects.toThrow(/residual: Float32Array\(1440\)/);
    await expect(run(broken(() => ({ proxyError: 'low' as never })))).rejects.toThrow(/numeric proxyError/);
  });

  it("has the CPU engine check a pass's codebooks against the layer's parts", async () => {
    const { engine, layers } = recordingEngine();
    await quantizeVptqLayerAsync(weight, prepared, { ...full, refineIterations: 0, engine });
    const session = await cpuVptqPassEngine.openLayer(layers[0]);
    const codebooks = layers[0].parts.map((part) => new Float32Array(part.numCentroids * part.vectorLength));
    expect(() => session.runPass({ codebooks: codebooks.slice(1), keepResidual: false })).toThrow(/one codebook per part \(got 2, parts = 3\)/);
    expect(() => session.runPass({ codebooks: [codebooks[0], new Float32Array(5), codebooks[2]], keepResidual: false })).toThrow(
      /codebooks\[1\] must be a Float32Array of \[32, 4\] \(got 5\)/,
    );
    const residualCodebooks = [new Float32Array(16), new Float32Array(32), new Float32Array(32)];
    expect(() => session.runPass({ codebooks, residualCodebooks, keepResidual: false })).toThrow(/residualCodebooks\[0\] must be undefined/);
  });

  it('runs every refit through refitEngine, in one session it closes (the CPU refit engine gives exactly the synchronous result)', async () => {
    const { engine: refitEngine, calls, layers } = recordingRefitEngine();
    const sync = runVptq(weight, prepared, full);
    const viaEngine = await runVptqAsync(weight, prepared, { ...full, refitEngine });
    expect(viaEngine.result).toEqual(sync.result);
    expect(viaEngine.quantizedWeight).toEqual(sync.quantizedWeight);
    expect(calls.filter((call) => call === 'refit').length).toBe(sync.result.proxyError.refinements.length);
    expect(calls.filter((call) => call === 'open').length).toBe(1);
    expect(calls.at(-1)).toBe('close');
    const [layer] = layers;
    expect([layer.rows, layer.cols, layer.storageDtype, layer.parts.length]).toEqual([rows, cols, 'F32', 3]);
    expect(layer.target.length).toBe(rows * cols);
    expect((layer.hessian as Float64Array).length).toBe(cols * cols);
    // Without refinement no refit session is opened at all.
    const none = recordingRefitEngine();
    await quantizeVptqLayerAsync(weight, prepared, { ...full, refineIterations: 0, refitEngine: none.engine });
    expect(none.calls).toEqual([]);
  });

  it('stops refining when the refit engine returns undefined, keeping the unrefined loop', async () => {
    const { engine: refitEngine, calls } = recordingRefitEngine(() => undefined);
    const result = await quantizeVptqLayerAsync(weight, prepared, { ...full, refitEngine });
    expect(calls).toEqual(['open', 'refit', 'close']);
    expect(result.proxyError.refinements).toEqual([]);
    expect(result.proxyError.after).toBe(result.proxyError.unrefined);
    expect(result).toEqual(quantizeVptqLayer(weight, prepared, { ...full, refineIterations: 0 }));
  });

  it('closes both sessions when the refit engine fails, and passes the failure on', async () => {
    const pass = recordingEngine();
    const refit = recordingRefitEngine(() => {
      throw new Error('refit failed');
    });
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, engine: pass.engine, refitEngine: refit.engine })).rejects.toThrow('refit failed');
    expect(refit.calls.at(-1)).toBe('close');
    expect(pass.calls.at(-1)).toBe('close');
  });

  it('rejects a refitEngine without openLayer and malformed refit results, naming the field', async () => {
    await expect(quantizeVptqLayerAsync(weight, prepared, { ...full, refitEngine: { refit: 1 } as never })).rejects.toThrow(
      /refitEngine must be an object with an openLayer function/,
    );
    const run = (change: (result: VptqRefitResult) => VptqRefitResult) =>
      quantizeVptqLayerAsync(weight, prepared, { ...full, refitEngine: recordingRefitEngine((result) => change(result as VptqRefitResult)).engine });
    await expect(run((result) => ({ ...result, codebooks: result.codebooks.slice(1) }))).rejects.toThrow(
      /refit engine's result must have codebooks: one per part \(3\) \(got Array\(2\)\)/,
    );
    await expect(run((result) => ({ ...result, codebooks: [result.codebooks[0], new Float32Array(3), result.codebooks[2]] }))).rejects.toThrow(
      /codebooks\[1\]: Float32Array\(128\) \(got Float32Array\(3\)\)/,
    );
    await expect(run((result) => ({ ...result, residualCodebooks: [new Float32Array(2), ...result.residualCodebooks.slice(1)] }))).rejects.toThrow(
      /residualCodebooks\[0\] undefined/,
    );
    await expect(run((result) => ({ ...result, residualCodebooks: [undefined, undefined, result.residualCodebooks[2]] }))).rejects.toThrow(
      /residualCodebooks\[1\]: Float32Array\(32\)/,
    );
  });
});
