import type { DeviceInfo } from '@vptq/kernels-webgpu';
import { createModelFiles, listLinearSpecs, loadTokenizerFiles, openModelFiles } from '@vptq/loader';
import type { ModelFiles } from '@vptq/loader';

import { encodeCalibration } from './calibration-tokens';
import { createCpuQuantizeBackend } from './cpu-quantize-backend';
import { createGpuQuantizeBackend } from './gpu-quantize-backend';
import { memoryLayerStore } from './layer-store';
import type { ProjectionSummary } from './layer-store';
import type { QuantizeBackend } from './quantize-backend';
import type { QuantizeSettings } from './quantize-defaults';
import { assembleModel, encodeModelTensors, quantizeLayers, readLayers } from './quantize-layers';
import type { QuantizeResult } from './quantize-model';
import type { QuantizeEvent } from './quantize-options';
import { checkCalibrationLength, checkReferenceMisreads, resolveSettings, roundSeconds, weightedBits } from './quantize-settings';
import { resolveModelLocation } from '../model-location';
import type { ModelLocation } from '../model-location';

/** Options of {@link quantizeInMemory}: the settings of `quantize` (defaults {@link quantizeDefaults}), but a text and a model location in place of paths. */
export interface QuantizeInMemoryOptions extends Partial<Omit<QuantizeSettings, 'device'>> {
  /** A Hugging Face Llama-family directory (a URL, picked files, `ModelFiles`); a llama2.c `.bin` is converted first (`vptq convert`). */
  readonly model: ModelLocation;
  /** Where the tokenizer is. Default: the model directory's own. */
  readonly tokenizer?: ModelLocation;
  /** The calibration text itself (UTF-8 string). */
  readonly calibration: string;
  /** `'cpu'` (the reference) or `'gpu'` (on `gpuDevice`). Default: `'gpu'` when `gpuDevice` is given, else `'cpu'`. */
  readonly device?: 'cpu' | 'gpu';
  /** The WebGPU device of a `'gpu'` run; the caller owns it. */
  readonly gpuDevice?: GPUDevice;
  /** What `acquireDevice` of `@vptq/kernels-webgpu` said about `gpuDevice`, to name the adapter in `deviceDescription`. */
  readonly gpuDeviceInfo?: DeviceInfo;
  /** Progress and log events, as `quantize` sends them. */
  readonly onEvent?: (event: QuantizeEvent) => void;
}

/** What {@link quantizeInMemory} made: what `quantize` reports, with the files in place of the output directory. */
export interface QuantizeInMemoryResult extends Omit<QuantizeResult, 'out' | 'resumedLayers'> {
  /** The quantized model as files in memory (`config.json`, `model.safetensors`, the tokenizer's): `loadCpu` and `loadGpu` take it. */
  readonly files: ModelFiles;
  /** Its `config.json` object (with `quantization_config` for VPTQ). */
  readonly config: Record<string, unknown>;
  /** Wall-clock seconds of the whole run. */
  readonly seconds: number;
}

const tokenizerFileNames = ['tokenizer.json', 'tokenizer_config.json', 'tokenizer.bin', 'special_tokens_map.json', 'generation_config.json'];

/**
 * Quantizes a model as `quantize` of `vptq/node` does (the same layer loop, settings, seeds and backends, so the
 * same bytes on the same device), but reads the model from any {@link ModelLocation} and keeps everything in
 * memory: for browsers and workers. Nothing is resumable; memory holds one layer's work plus the output.
 *
 * @example
 * ```ts
 * const result = await quantizeInMemory({ model: '/models/stories260K-hf/', calibration: text, kmeansIterations: 20 });
 * const { model, tokenizer } = await loadCpu(result.files);
 * ```
 * @throws {RangeError} for bad settings or a calibration text too short for the model.
 * @throws {Error} for a llama2.c checkpoint or an already quantized model, or `device: 'gpu'` without `gpuDevice`.
 * @throws {LoaderError} for a missing or malformed model.
 * @throws {QuantizeDeviceError} when the GPU runs out of memory or is lost.
 */
export async function quantizeInMemory(options: QuantizeInMemoryOptions): Promise<QuantizeInMemoryResult> {
  const started = performance.now();
  const device = options.device ?? (options.gpuDevice ? 'gpu' : 'cpu');
  if (device !== 'cpu' && device !== 'gpu') throw new RangeError(`quantizeInMemory: device must be cpu or gpu (got ${String(device)})`);
  if (device === 'gpu' && !options.gpuDevice) throw new Error("quantizeInMemory: device 'gpu' needs options.gpuDevice");
  if (typeof options.calibration !== 'string') throw new TypeError('quantizeInMemory: calibration must be the calibration text (a string)');
  const settings = resolveSettings({ ...options, device });
  const log = (message: string) => options.onEvent?.({ type: 'log', message });

  const files = resolveModelLocation('quantizeInMemory', options.model);
  const tokenizerFiles = options.tokenizer === undefined ? files : resolveModelLocation('quantizeInMemory', options.tokenizer);
  const source = await openModelFiles(files);
  try {
    if (source.format !== 'hf') {
      throw new Error(
        source.format === 'llama2c'
          ? `quantizeInMemory: ${source.path} is a llama2.c checkpoint; convert it to a Hugging Face directory first (vptq convert)`
          : `quantizeInMemory: ${source.path} is already quantized (format ${source.format})`,
      );
    }
    const specs = listLinearSpecs(source.config);
    if (settings.method === 'vptq') checkReferenceMisreads(specs, settings, log);
    const tokenizer = await loadTokenizerFiles(tokenizerFiles);
    const calibration = encodeCalibration(tokenizer, options.calibration, settings.calibrationTokens);
    checkCalibrationLength(calibration.length, specs, 'quantizeInMemory: the calibration text');

    const backend: QuantizeBackend = device === 'gpu' ? createGpuQuantizeBackend(options.gpuDevice as GPUDevice, options.gpuDeviceInfo) : createCpuQuantizeBackend();
    try {
      const store = memoryLayerStore();
      await quantizeLayers(source, store, calibration, settings, backend, options.onEvent);
      const layers = readLayers(store, source.config.numHiddenLayers);
      const summaries = layers.flatMap((layer) => layer.summary.projections);
      const sourceConfig = JSON.parse(new TextDecoder().decode(await readWhole(files, 'config.json'))) as Record<string, unknown>;
      const model = await assembleModel(layers, source, sourceConfig, settings);
      const output = new Map<string, Uint8Array>([
        ['config.json', new TextEncoder().encode(`${JSON.stringify(model.config, null, 2)}\n`)],
        ['model.safetensors', concat(encodeModelTensors(model.tensors))],
      ]);
      for (const name of tokenizerFileNames) {
        const bytes = await readWhole(tokenizerFiles, name, true);
        if (bytes) output.set(name, bytes);
      }
      return {
        files: createModelFiles(output),
        config: model.config,
        method: settings.method,
        device: backend.kind,
        deviceDescription: backend.description,
        projections: summaries,
        ...weightedBits(summaries),
        calibrationTokens: calibration.length,
        seconds: roundSeconds((performance.now() - started) / 1000),
        peakDeviceBytes: backend.peakDeviceBytes(),
      };
    } finally {
      backend.destroy();
    }
  } finally {
    source.close();
  }
}

async function readWhole(files: ModelFiles, name: string, optional: true): Promise<Uint8Array | undefined>;
async function readWhole(files: ModelFiles, name: string): Promise<Uint8Array>;
async function readWhole(files: ModelFiles, name: string, optional = false): Promise<Uint8Array | undefined> {
  const source = await files.open(name);
  if (!source) {
    if (optional) return undefined;
    throw new Error(`quantizeInMemory: ${files.pathOf(name)} is missing`);
  }
  try {
    return (await source.read(0, source.byteLength)).slice();
  } finally {
    source.close?.();
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
