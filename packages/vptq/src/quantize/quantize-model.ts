import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { listLinearSpecs } from '@vptq/loader';
import { convertLlama2cToHf, loadTokenizer, openModel } from '@vptq/loader/node';

import { encodeCalibration } from './calibration-tokens';
import { fingerprintJob, listInputFiles, openJobDirectory } from './job-directory';
import { directoryLayerStore } from './layer-checkpoint';
import type { ProjectionSummary } from './layer-checkpoint';
import { openQuantizeBackend } from './open-quantize-backend';
import { assembleModel, encodeModelTensors, quantizeLayers, readLayers } from './quantize-layers';
import type { ProjectionRunner } from './projection-runner';
import type { QuantizeOptions } from './quantize-options';
import { checkCalibrationLength, checkReferenceMisreads, flatSettings, resolveSettings, roundSeconds, weightedBits } from './quantize-settings';
import type { ResolvedSettings } from './quantize-settings';
import { findTokenizerBeside } from '../load-model';
import { writeFileAtomic } from './write-atomic';
import { createQuantizationReport, writeQuantizationReport } from '../report/quantization-report';
import type { QuantizationReport } from '../report/quantization-report';

/** What {@link quantize} did. */
export interface QuantizeResult {
  readonly out: string;
  readonly method: 'vptq' | 'gptq' | 'rtn';
  /** Where it ran (`device: 'auto'` resolved). */
  readonly device: 'cpu' | 'gpu';
  /** The adapter, for a GPU run (`GPU nvidia-h100-80gb-hbm3 (nvidia)`), or `CPU`. */
  readonly deviceDescription: string;
  /** Every quantized projection, in model order. */
  readonly projections: readonly ProjectionSummary[];
  /** Weighted over all quantized projections: index bits per weight. */
  readonly indexBitsPerWeight: number;
  /** Weighted over all quantized projections: every stored bit (codes, codebooks, norm, perm, padding) per weight. */
  readonly totalBitsPerWeight: number;
  readonly calibrationTokens: number;
  /** Layers taken from an interrupted earlier run. */
  readonly resumedLayers: number;
  /** Most bytes of GPU buffers held at once (0 on the CPU). */
  readonly peakDeviceBytes: number;
}

/**
 * Quantizes every decoder linear of a Llama-family model and writes a complete Hugging Face directory: VPTQ
 * in the published packed format (`quantization_config.quant_method = "vptq"`), or the GPTQ / RTN baselines as
 * dequantized weights, plus `quantization-report.json` (per-layer proxy errors, bits, k-means runs and phase times;
 * `readQuantizationReport`, `renderQuantizationReport`).
 *
 * The model streams through one decoder layer at a time: the calibration tokens are embedded once, and for each
 * layer its weights are read from disk, the layer runs over the calibration activations while the Hessians of
 * its four projection inputs are accumulated, its projections are quantized, and the activations advance to the
 * next layer, through the original layer (`advanceThrough: 'original'`, the reference's protocol) or through the
 * just-quantized one (`'quantized'`, GPTQ's sequential protocol). Memory stays near one layer plus the
 * activations (README, "Memory"). `device` chooses where: the CPU reference, or WebGPU.
 *
 * Each finished layer is checkpointed in `<out>.partial`, so a killed run started again with the same
 * arguments continues from the last finished layer (replaying the finished layers over the activations) and
 * produces the same bytes. The output appears only when complete (written under a temporary name, then renamed).
 *
 * @example
 * ```ts
 * import { quantize } from 'vptq';
 * await quantize({ model: 'stories260K.bin', calibration: 'tinystories.txt', out: 'stories260K-vptq', vectorLength: 8, numCentroids: 256 });
 * ```
 * @throws {RangeError} for bad settings (k not a power of two, vector longer than a layer, calibration too short…).
 * @throws {Error} when the output directory already holds something and `overwrite` is not set.
 * @throws {LoaderError} for a missing or malformed model.
 * @throws {QuantizeDeviceError} when the GPU runs out of memory or is lost (the finished layers stay resumable).
 */
export async function quantize(options: QuantizeOptions): Promise<QuantizeResult> {
  return runQuantizeJob(options, undefined);
}

/** What {@link runQuantizeJob} tells the maker of a {@link ProjectionRunner} about the job. */
export interface QuantizeJob {
  /** The job directory (`<out>.partial`), where the finished layers are kept. */
  readonly path: string;
  /** {@link fingerprintJob} of the job's settings, backend kind and input bytes. */
  readonly fingerprint: string;
  /** The Hugging Face directory the projections are read from (a llama2.c model's conversion, in the job directory). */
  readonly sourceDir: string;
  readonly settings: ResolvedSettings;
  /** The kind of device the layers are quantized on: part of the job, as the bytes differ between kinds. */
  readonly deviceKind: 'cpu' | 'gpu';
  readonly log: (message: string) => void;
}

/** A {@link ProjectionRunner} that holds resources (queue connections) until `close`. */
export interface ClosableProjectionRunner extends ProjectionRunner {
  close(): Promise<void>;
}

/**
 * {@link quantize}, with the projections of each layer quantized by the runner `openRunner` makes for the job
 * (jobs on a queue, `quantizeDistributed`), or here when it is undefined. Same checks, job directory, checkpoints
 * and output either way.
 */
export async function runQuantizeJob(
  options: QuantizeOptions,
  openRunner: ((job: QuantizeJob) => Promise<ClosableProjectionRunner>) | undefined,
): Promise<QuantizeResult> {
  const started = performance.now();
  const settings = resolveSettings(options);
  const out = resolve(options.out);
  const log = (message: string) => options.onEvent?.({ type: 'log', message });
  checkOutput(out, options.overwrite === true);
  if (!existsSync(options.calibration)) throw new Error(`quantize: calibration file ${options.calibration} does not exist`);

  const modelPath = resolve(options.model);
  if (!existsSync(modelPath)) throw new Error(`quantize: model ${options.model} does not exist`);
  const llama2c = statSync(modelPath).isFile();
  const tokenizerPath = options.tokenizer ? resolve(options.tokenizer) : llama2c ? findTokenizerBeside(modelPath) : modelPath;
  // Everything that can be checked is checked before anything is written: the model and its shapes, the
  // settings against every projection, the tokenizer and the calibration length.
  const calibration = checkInputs(modelPath, tokenizerPath, options.calibration, settings, log);
  const backend = await openQuantizeBackend(settings.device, options.gpuDevice, log);
  try {
    const inputs = [...listInputFiles(modelPath), ...(tokenizerPath === modelPath ? [] : listInputFiles(tokenizerPath)), resolve(options.calibration)];
    // The backend is part of the job: a CPU run and a GPU run of the same settings give different bytes. How many
    // projections run at once does not change a byte.
    const { device: _device, projectionsInFlight: _inFlight, ...fingerprinted } = settings;
    const job = openJobDirectory(out, fingerprintJob({ version: 2, ...fingerprinted, backend: backend.kind }, inputs));
    if (job.resumed) log(`resuming the unfinished run in ${job.path}`);

    // llama2.c checkpoints are first converted to a Hugging Face directory (q/k rows in rotate-half order), so the
    // quantizer sees the layout the output will have: vectors are runs of output rows, and a row permutation
    // applied after quantization would break them.
    let sourceDir = modelPath;
    if (llama2c) {
      sourceDir = join(job.path, 'source');
      convertLlama2cToHf(modelPath, tokenizerPath, sourceDir, { overwrite: true });
    }
    const source = openModel(sourceDir);
    let result: Omit<QuantizeResult, 'peakDeviceBytes'>;
    let runner: ClosableProjectionRunner | undefined;
    try {
      const store = directoryLayerStore(job.path);
      runner = await openRunner?.({ path: job.path, fingerprint: job.fingerprint, sourceDir, settings, deviceKind: backend.kind, log });
      const { resumedLayers, computed, seconds } = await quantizeLayers(source, store, calibration, settings, backend, options.onEvent, runner);
      const layers = readLayers(store, source.config.numHiddenLayers);
      const summaries = layers.flatMap((layer) => layer.summary.projections);
      const bits = weightedBits(summaries);
      result = {
        out,
        method: settings.method,
        device: backend.kind,
        deviceDescription: backend.description,
        projections: summaries,
        ...bits,
        calibrationTokens: calibration.length,
        resumedLayers,
      };
      const report = createQuantizationReport({
        model: basename(modelPath),
        method: settings.method,
        settings: flatSettings(settings),
        device: backend.kind,
        deviceDescription: backend.description,
        calibrationTokens: calibration.length,
        ...bits,
        layers: layers.map(({ summary }, layer) => ({ layer, projections: summary.projections.map(({ layerConfig: _config, ...rest }) => rest) })),
        timing: {
          totalSeconds: roundSeconds((performance.now() - started) / 1000),
          resumedLayers,
          layers: layers.map(({ summary }, layer) => {
            // A layer finished by an earlier run keeps that run's phases; this run adds its replay.
            const resumed = !computed.has(layer);
            return { layer, resumed, seconds: { ...summary.seconds, ...seconds.get(layer) } };
          }),
        },
      });
      const sourceConfig = JSON.parse(readFileSync(join(sourceDir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const model = await assembleModel(layers, source, sourceConfig, settings);
      writeOutput(out, model, llama2c ? sourceDir : tokenizerPath, report, options.overwrite === true);
    } finally {
      source.close();
      await runner?.close();
    }
    rmSync(job.path, { recursive: true, force: true });
    return { ...result, peakDeviceBytes: backend.peakDeviceBytes() };
  } finally {
    backend.destroy();
  }
}

function checkInputs(
  modelPath: string,
  tokenizerPath: string,
  calibrationPath: string,
  settings: ResolvedSettings,
  log: (message: string) => void,
): number[] {
  const original = openModel(modelPath);
  try {
    if (original.format !== 'hf' && original.format !== 'llama2c') {
      throw new Error(`quantize: ${modelPath} is already quantized (format ${original.format})`);
    }
    const specs = listLinearSpecs(original.config);
    if (settings.method === 'vptq') checkReferenceMisreads(specs, settings, log);
    const tokenizer = loadTokenizer(tokenizerPath);
    const calibration = encodeCalibration(tokenizer, readFileSync(calibrationPath, 'utf8'), settings.calibrationTokens);
    checkCalibrationLength(calibration.length, specs, `quantize: calibration text ${calibrationPath}`);
    return calibration;
  } finally {
    original.close();
  }
}


function checkOutput(out: string, overwrite: boolean): void {
  // A missing parent is created with the job directory, as `mkdir -p` would.
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`quantize: output ${out} exists and is not a directory`);
  const entries = readdirSync(out);
  if (entries.length === 0 || overwrite) return;
  const what = entries.includes('config.json') ? 'already holds a model' : `is not empty (${entries.length} entries)`;
  throw new Error(`quantize: output directory ${out} ${what}; choose another --out or pass --overwrite`);
}


const tokenizerFiles = ['tokenizer.json', 'tokenizer_config.json', 'tokenizer.bin', 'special_tokens_map.json', 'generation_config.json'];

/**
 * Writes the output directory under a temporary name and renames it into place: the assembled tensors and
 * `config.json`, the tokenizer files and the quantization report.
 */
function writeOutput(
  out: string,
  model: Awaited<ReturnType<typeof assembleModel>>,
  tokenizerDir: string,
  report: QuantizationReport,
  overwrite: boolean,
): void {
  const temporary = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  try {
    mkdirSync(temporary, { recursive: true });
    writeFileAtomic(join(temporary, 'model.safetensors'), encodeModelTensors(model.tensors));
    writeFileAtomic(join(temporary, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
    writeQuantizationReport(temporary, report);
    for (const name of tokenizerFiles) {
      const file = join(statSync(tokenizerDir).isDirectory() ? tokenizerDir : dirname(tokenizerDir), name);
      if (existsSync(file)) writeFileAtomic(join(temporary, name), [new Uint8Array(readFileSync(file))]);
    }
    if (existsSync(out)) {
      if (!overwrite && readdirSync(out).length > 0) throw new Error(`quantize: output directory ${out} appeared during the run`);
      rmSync(out, { recursive: true, force: true });
    }
    renameSync(temporary, out);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}
