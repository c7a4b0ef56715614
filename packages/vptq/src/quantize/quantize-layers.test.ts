import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { convertLlama2cToHf, loadTokenizer, openModel } from '@vptq/loader/node';
import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { encodeCalibration } from './calibration-tokens';
import { createCpuQuantizeBackend } from './cpu-quantize-backend';
import { memoryLayerStore } from './layer-store';
import type { LayerStore } from './layer-store';
import { localProjectionRunner } from './projection-runner';
import type { ProjectionRunner } from './projection-runner';
import { quantizeLayers } from './quantize-layers';
import { resolveSettings } from './quantize-settings';

const dir = makeTempDir();
const hf = join(dir, 'hf');
convertLlama2cToHf(fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'), fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'), hf);
const settings = resolveSettings({ calibrationTokens: 1500, kmeansIterations: 4, refineIterations: 1, vectorLength: 4, numCentroids: 16, numResidualCentroids: 0, device: 'cpu' });
const calibration = encodeCalibration(loadTokenizer(hf), readFileSync(fixturePath('tinystories-train-head', 'tinystories.txt'), 'utf8'), settings.calibrationTokens);

/** The layer loop over stories260K into a fresh memory store, with `runner` (default: quantize here). */
async function run(makeRunner?: (local: ProjectionRunner) => ProjectionRunner): Promise<LayerStore> {
  const source = openModel(hf);
  const backend = createCpuQuantizeBackend();
  const store = memoryLayerStore();
  try {
    const local = localProjectionRunner(source, settings, backend);
    await quantizeLayers(source, store, calibration, settings, backend, undefined, makeRunner?.(local) ?? local);
    return store;
  } finally {
    source.close();
  }
}

/** Every layer's tensors and projection summaries (phase times left out: they are wall-clock). */
function contents(store: LayerStore) {
  return Array.from({ length: 5 }, (_, layer) => {
    const checkpoint = store.read(layer);
    return checkpoint && { tensors: checkpoint.tensors, projections: checkpoint.summary.projections };
  });
}

describe('quantizeLayers with several layers in flight', () => {
  it('checkpoints every layer as the sequential loop does, whatever order the layers finish in', async () => {
    const sequential = contents(await run());
    const finished: number[] = [];
    // Each even layer comes back only after the odd layer that follows it (0 after 1, 2 after 3).
    const done = Array.from({ length: 5 }, () => {
      let resolve = () => {};
      const promise = new Promise<void>((settle) => (resolve = settle));
      return { promise, resolve };
    });
    const overlapped = await run((local) => ({
      layersInFlight: 3,
      takesDeviceHessians: false,
      async quantizeProjections(layer, specs, hessians, context) {
        const result = await local.quantizeProjections(layer, specs, hessians, context);
        if (layer % 2 === 0 && layer + 1 < 5) await done[layer + 1].promise;
        finished.push(layer);
        done[layer].resolve();
        return result;
      },
    }));
    expect(finished).toEqual([1, 0, 3, 2, 4]);
    expect(contents(overlapped)).toEqual(sequential);
  });

  it('fails with the first failed layer without waiting for the layers still in flight', async () => {
    // Layer 2 waits for room (2 in flight) behind layer 0, which never comes back; layer 1 fails meanwhile.
    await expect(
      run((local) => ({
        layersInFlight: 2,
        takesDeviceHessians: false,
        async quantizeProjections(layer, specs, hessians, context) {
          if (layer === 0) return new Promise(() => {});
          if (layer === 1) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            throw new Error('layer 1 failed on a worker');
          }
          return local.quantizeProjections(layer, specs, hessians, context);
        },
      })),
    ).rejects.toThrow('layer 1 failed on a worker');
  }, 30_000);

  it('reads every projection weight from the model once: the calibration pass keeps it for the quantizer', async () => {
    const source = openModel(hf);
    const reads = new Map<string, number>();
    const readTensor = source.readTensor.bind(source);
    source.readTensor = (name: string) => {
      reads.set(name, (reads.get(name) ?? 0) + 1);
      return readTensor(name);
    };
    const backend = createCpuQuantizeBackend();
    const store = memoryLayerStore();
    try {
      await quantizeLayers(source, store, calibration, settings, backend, undefined);
    } finally {
      source.close();
    }
    const weights = [...reads].filter(([name]) => /^model\.layers\.\d+\.(self_attn|mlp)\..*\.weight$/.test(name));
    expect(weights).toHaveLength(5 * 7);
    for (const [name, count] of weights) expect([name, count]).toEqual([name, 1]);
    expect(contents(store)).toEqual(contents(await run()));
  }, 60_000);
});

