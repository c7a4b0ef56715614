import { listLayerTensorNames, listLinearSpecs } from '@vptq/loader';
import type { LlamaConfig, ModelSource } from '@vptq/loader';
import { encodeSafetensors } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import type { WeightSource } from '@vptq/runtime';

import type { LayerHessians } from './calibration-stream';
import { embedCalibration } from './calibration-tokens';
import { estimateGpuMemory } from './gpu-memory';
import { gpuChunkTokens } from './gpu-calibration-stream';
import { readCheckpointWeights } from './layer-store';
import type { LayerCheckpoint, LayerStore } from './layer-store';
import { QuantizeDeviceError } from './quantize-device-error';
import type { QuantizeBackend } from './quantize-backend';
import { localProjectionRunner, projectionsInFlight } from './projection-runner';
import type { LayerProjections, ProjectionRunner } from './projection-runner';
import type { QuantizeEvent, QuantizePhase } from './quantize-options';
import { roundPhases } from './quantize-settings';
import type { ResolvedSettings } from './quantize-settings';
import { PhaseClock } from '../phase-clock';

// The layer loop of `quantize` (vptq/node, job directories on disk) and `quantizeModel` (main entry, memory):
// environment-agnostic, it reads the model through a ModelSource and keeps finished layers in a LayerStore.

/** What {@link quantizeLayers} did. */
export interface LayerLoop {
  /** How many layers an earlier run had finished. */
  readonly resumedLayers: number;
  /** The layers quantized by this run. */
  readonly computed: ReadonlySet<number>;
  /** Wall-clock seconds per phase of every layer this run worked on (quantized or replayed). */
  readonly seconds: ReadonlyMap<number, Record<string, number>>;
}

/**
 * The layer loop: embeds the calibration tokens, then per layer replays it (finished in an earlier run) or
 * collects its Hessians, has `runner` quantize its projections, checkpoints it and advances the activations.
 * With activations advancing through the original layers and a runner that allows several layers in flight
 * (a queue of workers), the next layers are calibrated while earlier ones are still being quantized; each layer
 * is checkpointed as soon as its projections are done.
 */
export async function quantizeLayers(
  source: ModelSource,
  store: LayerStore,
  calibration: readonly number[],
  settings: ResolvedSettings,
  backend: QuantizeBackend,
  onEvent: ((event: QuantizeEvent) => void) | undefined,
  runner: ProjectionRunner = localProjectionRunner(source, settings, backend),
): Promise<LayerLoop> {
  const config = source.config;
  const layers = config.numHiddenLayers;
  const specs = listLinearSpecs(config);
  // A stored layer is complete; its tensors are read once, when the output is assembled.
  const pending = [...Array(layers).keys()].filter((layer) => !store.has(layer));
  const lastPending = pending.at(-1) ?? -1;
  const computed = new Set(pending);
  const seconds = new Map<number, Record<string, number>>();
  if (lastPending < 0) {
    for (let layer = 0; layer < layers; layer++) onEvent?.({ type: 'layer', layer, layers, resumed: true });
    return { resumedLayers: layers, computed, seconds };
  }
  const window = Math.min(settings.calibrationWindow, config.maxPositionEmbeddings);
  onEvent?.({ type: 'log', message: `quantizing on ${backend.description}, ${calibration.length} calibration tokens in windows of ${window}, activations advance through the ${settings.advanceThrough} layers` });
  const stream = await onDevice(backend, store, () => ({ layer: 0, phase: 'calibrate' }), async () => {
    await source.prefetch(['model.embed_tokens.weight']);
    return backend.createStream(config, embedCalibration(source, calibration), window);
  }, {
    config,
    tokens: calibration.length,
    window,
  });
  const advanceNow = settings.advanceThrough === 'original';
  const layersInFlight = advanceNow ? Math.max(1, runner.layersInFlight) : 1;
  // Layers whose projections are still being quantized elsewhere; the first failure among them ends the run.
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  let rejectFailed: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => {});
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    rejectFailed(error);
  };
  // Waits until at most `count` layers are in flight, or until one of them failed (without waiting for the others).
  const settle = async (count: number) => {
    while (inFlight.length > count) await Promise.race([inFlight.shift(), failed]);
    if (failure) throw failure.error;
  };
  const memoryShape = { config, tokens: calibration.length, window, inFlight: projectionsInFlight(settings, backend), layersInFlight };
  try {
    for (let layer = 0; layer <= lastPending; layer++) {
      await settle(layersInFlight - 1);
      const resumed = !computed.has(layer);
      onEvent?.({ type: 'layer', layer, layers, resumed });
      const clock = new PhaseClock();
      // Where this layer is, for its errors (with layers in flight, another layer may be elsewhere).
      const here = { layer, phase: 'calibrate' as QuantizePhase };
      const phase = (name: QuantizePhase) => {
        here.phase = name;
        clock.enter(name);
        onEvent?.({ type: 'phase', layer, phase: name });
      };
      const onThisDevice = <T>(work: () => Promise<T>) => onDevice(backend, store, () => here, work, memoryShape);
      const handedOff = await onThisDevice(() => quantizeLayer(layer, resumed, phase, clock, onThisDevice));
      if (!handedOff) seconds.set(layer, roundPhases(clock.stop().phases));
    }
    await settle(0);
  } catch (error) {
    // A layer still in flight here may have failed first (a lost device fails it and the calibration after it):
    // the earliest failure names the layer to resume from.
    if (runner.waitsForLayersOnFailure) await Promise.allSettled(inFlight);
    throw failure ? failure.error : error;
  } finally {
    stream.destroy();
    // On a failure, a remote runner's layers still in flight are left to finish or fail on their own (their errors
    // are kept); local ones were waited for above.
  }
  for (let layer = lastPending + 1; layer < layers; layer++) onEvent?.({ type: 'layer', layer, layers, resumed: true });
  return { resumedLayers: layers - pending.length, computed, seconds };

  /**
   * One layer: replayed, or calibrated, quantized (or sent off to be), checkpointed and advanced. Returns whether
   * its projections were sent off (their completion then sets the layer's seconds); `onThisDevice` turns device
   * errors of the work sent off into the layer's {@link QuantizeDeviceError}.
   */
  async function quantizeLayer(
    layer: number,
    resumed: boolean,
    phase: (name: QuantizePhase) => void,
    clock: PhaseClock,
    onThisDevice: <T>(work: () => Promise<T>) => Promise<T>,
  ): Promise<boolean> {
    // A model that reads asynchronously (over HTTP, from Blobs) holds one layer's tensors at a time.
    await source.prefetch(listLayerTensorNames(config, layer));
    if (resumed) {
      // Same inputs, same arithmetic: the activations reach the next layer exactly as in the first run.
      phase('replay');
      const weights = settings.advanceThrough === 'quantized' ? withWeights(source, readCheckpointWeights(store.read(layer) as LayerCheckpoint)) : source;
      await stream.forwardLayer(layer, weights, { collect: false, advance: true });
      return false;
    }
    phase('calibrate');
    // The projection weights the calibration pass reads (decoded and checked) are kept for the quantizer, which
    // takes each once: every weight is read from the model once per layer.
    const layerSpecs = specs.filter((candidate) => candidate.layer === layer);
    const projectionWeights = new Set(layerSpecs.map((spec) => `${spec.prefix}.weight`));
    const readWeights = new Map<string, Float32Array>();
    const reading: WeightSource = {
      config: source.config,
      path: source.path,
      readTensor: (name) => {
        const values = source.readTensor(name);
        if (projectionWeights.has(name)) readWeights.set(name, values);
        return values;
      },
    };
    const takeWeight = (name: string) => {
      const values = readWeights.get(name);
      readWeights.delete(name);
      return values;
    };
    const hessians = (await stream.forwardLayer(layer, reading, {
      collect: true,
      advance: advanceNow,
      onDevice: runner.takesDeviceHessians,
      onProgress: (doneTokens, totalTokens) => onEvent?.({ type: 'calibration', doneTokens, totalTokens }),
    })) as LayerHessians;
    const work = runner.quantizeProjections(layer, layerSpecs, hessians, { phase, onEvent, takeWeight });
    const checkpoint = (result: LayerProjections, computedSeconds: Record<string, number>) => {
      // A lost device may have let a pass end without an error; nothing it computed is written.
      if (backend.lost()) throw new Error(`the device was lost before layer ${layer} was checkpointed`);
      store.write(layer, { tensors: result.tensors, summary: { projections: result.projections, seconds: computedSeconds } });
      runner.layerCheckpointed?.(layer);
    };
    if (layersInFlight > 1) {
      // The clock pauses until the runner starts the layer's projections (they may queue behind the last layer's);
      // the phases up to the checkpoint go into it, the layer's seconds are set when it is written.
      clock.stop();
      inFlight.push(
        onThisDevice(async () => {
          const result = await work;
          const computedSeconds = roundPhases(clock.stop().phases);
          phase('checkpoint');
          checkpoint(result, computedSeconds);
          seconds.set(layer, roundPhases(clock.stop().phases));
        }).catch(fail),
      );
      return true;
    }
    const result = await work;
    // The phases so far go into the checkpoint, for the report of a run that resumes this one.
    const computedSeconds = roundPhases(clock.stop().phases);
    phase('checkpoint');
    checkpoint(result, computedSeconds);
    if (!advanceNow && layer < lastPending) {
      phase('advance');
      const weights = result.weights ?? readCheckpointWeights({ tensors: result.tensors, summary: { projections: result.projections } });
      await stream.forwardLayer(layer, withWeights(source, weights), { collect: false, advance: true });
    }
    return false;
  }
}

/**
 * Runs `work`, turning a GPU out-of-memory or device loss into a {@link QuantizeDeviceError} that names the layer
 * and phase (`where()`), the bytes the run needs and where the finished layers are kept.
 */
async function onDevice<T>(
  backend: QuantizeBackend,
  store: LayerStore,
  where: () => { layer: number; phase: string },
  work: () => Promise<T>,
  shape: { config: LlamaConfig; tokens: number; window: number; inFlight?: number; layersInFlight?: number },
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (backend.kind !== 'gpu') throw error;
    const { layer, phase } = where();
    const code = (error as { code?: unknown }).code;
    const kept = layer === 0 ? 'no layer was finished yet' : layer === 1 ? `layer 0 is kept in ${store.where}` : `layers 0–${layer - 1} are kept in ${store.where}`;
    const details = { layer, phase, jobDirectory: store.where };
    if (backend.lost() || code === 'VPTQ_GPU_DEVICE_LOST') {
      throw new QuantizeDeviceError(
        'VPTQ_QUANTIZE_GPU_LOST',
        `quantize: the GPU was lost in layer ${layer} (${phase}): ${(error as Error).message}. ${kept}; run the same command again to continue.`,
        details,
        { cause: error },
      );
    }
    if (code === 'VPTQ_GPU_OUT_OF_MEMORY') {
      const estimate = estimateGpuMemory(shape.config, shape.tokens, shape.window, gpuChunkTokens, shape.inFlight, shape.layersInFlight);
      const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
      throw new QuantizeDeviceError(
        'VPTQ_QUANTIZE_GPU_OUT_OF_MEMORY',
        `quantize: the GPU ran out of memory in layer ${layer} (${phase}): the run needs about ${gb(estimate.peak)} of GPU buffers ` +
          `(calibration stream ${gb(estimate.stream)}; the calibration pass: layer weights ${gb(estimate.layerWeights)}, runner ${gb(estimate.runner)}, ` +
          `Hessian accumulators ${gb(estimate.accumulators)}; the quantization: the Hessians kept on the GPU and the projections in flight ${gb(estimate.quantize)}; ` +
          `${(shape.layersInFlight ?? 1) > 1 ? 'with two layers in flight, all of these at once and the next layer’s Hessians' : 'the larger of the two at a time'}). ${kept}; ` +
          'run the same command again on a larger GPU, with fewer --calib-tokens (a smaller stream), or with --device cpu.',
        { ...details, neededBytes: estimate.peak },
        { cause: error },
      );
    }
    throw error;
  }
}

/** `source` with some tensors replaced (a layer's quantized weights). */
function withWeights(source: ModelSource, replaced: ReadonlyMap<string, Float32Array>): WeightSource {
  return { config: source.config, path: source.path, readTensor: (name) => replaced.get(name) ?? source.readTensor(name) };
}

/** Every finished layer's checkpoint, in model order. */
export function readLayers(store: LayerStore, layers: number): LayerCheckpoint[] {
  return Array.from({ length: layers }, (_, layer) => {
    const checkpoint = store.read(layer);
    if (!checkpoint) throw new Error(`quantize: layer ${layer} is missing from ${store.where}`);
    return checkpoint;
  });
}

/**
 * The output model: the non-quantized tensors (as F32) and every layer's tensors, and `config.json` (the source's,
 * `torch_dtype: float32`, with `quantization_config` for VPTQ or `vptq_baseline` for the scalar baselines).
 * Reads every non-quantized tensor of `source` (prefetched here).
 */
export async function assembleModel(
  layers: readonly LayerCheckpoint[],
  source: ModelSource,
  sourceConfig: Record<string, unknown>,
  settings: ResolvedSettings,
): Promise<{ tensors: SafetensorsTensorInput[]; config: Record<string, unknown> }> {
  const config = source.config;
  // The tensors the quantized layers hold: every weight, and the biases the architecture gives (the layer stores them).
  const quantized = new Set(listLinearSpecs(config).flatMap((spec) => [`${spec.prefix}.weight`, ...(spec.bias ? [`${spec.prefix}.bias`] : [])]));
  const kept = source.tensors.filter((info) => !quantized.has(info.name));
  await source.prefetch(kept.map((info) => info.name));
  const tensors: SafetensorsTensorInput[] = kept.map((info) => ({ name: info.name, dtype: 'F32', shape: info.shape, data: source.readTensor(info.name) }));
  for (const checkpoint of layers) tensors.push(...checkpoint.tensors);
  const summaries = layers.flatMap((checkpoint) => checkpoint.summary.projections);

  const outConfig: Record<string, unknown> = { ...sourceConfig, torch_dtype: 'float32' };
  if (settings.method === 'vptq') {
    const configForLayers: Record<string, unknown> = {};
    for (const summary of summaries) configForLayers[summary.name] = summary.layerConfig;
    outConfig.quantization_config = { quant_method: 'vptq', config_for_layers: configForLayers, shared_layer_config: {} };
  } else {
    // Baselines are stored dequantized (a plain HF model), with a note of how they were made.
    outConfig.vptq_baseline = { method: settings.method, bits: settings.bits };
  }
  return { tensors, config: outConfig };
}

/** The bytes of `model.safetensors` for {@link assembleModel}'s tensors. */
export function encodeModelTensors(tensors: readonly SafetensorsTensorInput[]): Uint8Array[] {
  return encodeSafetensors(tensors, { format: 'pt' });
}
