import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import type { PreparedHessian } from '@vptq/hessian';
import { listLinearSpecs } from '@vptq/loader';
import { convertLlama2cToHf, loadTokenizer, openModel } from '@vptq/loader/node';
import type { LinearSpec, LlamaConfig, ModelSource } from '@vptq/loader';
import { encodeSafetensors } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import type { WeightSource } from '@vptq/runtime';

import type { HessianGroup, LayerHessians } from './calibration-stream';
import { embedCalibration, encodeCalibration } from './calibration-tokens';
import { fingerprintJob, listInputFiles, openJobDirectory } from './job-directory';
import { layerCheckpointPath, readCheckpointWeights, readLayerCheckpoint, writeLayerCheckpoint } from './layer-checkpoint';
import type { LayerCheckpoint, ProjectionSummary } from './layer-checkpoint';
import { estimateGpuMemory } from './gpu-memory';
import { gpuChunkTokens } from './gpu-calibration-stream';
import { openQuantizeBackend } from './open-quantize-backend';
import { QuantizeDeviceError } from './quantize-device-error';
import type { QuantizeBackend } from './quantize-backend';
import { quantizeLinear, validateLinear } from './quantize-linear';
import { quantizeDefaults } from './quantize-defaults';
import type { QuantizeSettings } from './quantize-defaults';
import type { QuantizeOptions, QuantizePhase, VptqSettings } from './quantize-options';
import { findTokenizerBeside } from '../load-model';
import { writeFileAtomic } from './write-atomic';
import { PhaseClock } from '../phase-clock';
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

/** The calibration text must give at least this many tokens per input column of the widest layer. */
const minimumTokensPerColumn = 2;

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
    // The backend is part of the job: a CPU run and a GPU run of the same settings give different bytes.
    const { device: _device, ...fingerprinted } = settings;
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
    try {
      const { resumedLayers, computed, seconds } = await quantizeLayers(source, job.path, calibration, settings, backend, options.onEvent);
      const layers = readLayers(job.path, source.config.numHiddenLayers);
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
      writeOutput(out, layers, source, sourceDir, llama2c ? sourceDir : tokenizerPath, settings, report, options.overwrite === true);
    } finally {
      source.close();
    }
    rmSync(job.path, { recursive: true, force: true });
    return { ...result, peakDeviceBytes: backend.peakDeviceBytes() };
  } finally {
    backend.destroy();
  }
}

/** What {@link quantizeLayers} did. */
interface LayerLoop {
  /** How many layers an earlier run had finished. */
  readonly resumedLayers: number;
  /** The layers quantized by this run. */
  readonly computed: ReadonlySet<number>;
  /** Wall-clock seconds per phase of every layer this run worked on (quantized or replayed). */
  readonly seconds: ReadonlyMap<number, Record<string, number>>;
}

/**
 * The layer loop: embeds the calibration tokens, then per layer replays it (finished in an earlier run) or
 * collects its Hessians, quantizes its projections, checkpoints it and advances the activations.
 */
async function quantizeLayers(
  source: ModelSource,
  jobDir: string,
  calibration: readonly number[],
  settings: ResolvedSettings,
  backend: QuantizeBackend,
  onEvent: QuantizeOptions['onEvent'],
): Promise<LayerLoop> {
  const config = source.config;
  const layers = config.numHiddenLayers;
  const specs = listLinearSpecs(config);
  // Checkpoints are written atomically, so one that exists is complete; its tensors are read once, when the output is assembled.
  const pending = [...Array(layers).keys()].filter((layer) => !existsSync(layerCheckpointPath(jobDir, layer)));
  const lastPending = pending.at(-1) ?? -1;
  const computed = new Set(pending);
  const seconds = new Map<number, Record<string, number>>();
  if (lastPending < 0) {
    for (let layer = 0; layer < layers; layer++) onEvent?.({ type: 'layer', layer, layers, resumed: true });
    return { resumedLayers: layers, computed, seconds };
  }
  const window = Math.min(settings.calibrationWindow, config.maxPositionEmbeddings);
  onEvent?.({ type: 'log', message: `quantizing on ${backend.description}, ${calibration.length} calibration tokens in windows of ${window}, activations advance through the ${settings.advanceThrough} layers` });
  let current = { layer: 0, phase: 'calibrate' as QuantizePhase };
  const stream = await onDevice(backend, jobDir, () => current, () => backend.createStream(config, embedCalibration(source, calibration), window), {
    config,
    tokens: calibration.length,
    window,
  });
  try {
    for (let layer = 0; layer <= lastPending; layer++) {
      const resumed = !computed.has(layer);
      onEvent?.({ type: 'layer', layer, layers, resumed });
      const clock = new PhaseClock();
      const phase = (name: QuantizePhase) => {
        current = { layer, phase: name };
        clock.enter(name);
        onEvent?.({ type: 'phase', layer, phase: name });
      };
      await onDevice(backend, jobDir, () => current, () => quantizeLayer(layer, resumed, phase, clock), { config, tokens: calibration.length, window });
      seconds.set(layer, roundPhases(clock.stop().phases));
    }
  } finally {
    stream.destroy();
  }
  for (let layer = lastPending + 1; layer < layers; layer++) onEvent?.({ type: 'layer', layer, layers, resumed: true });
  return { resumedLayers: layers - pending.length, computed, seconds };

  /** One layer: replayed, or calibrated, quantized, checkpointed and advanced. */
  async function quantizeLayer(layer: number, resumed: boolean, phase: (name: QuantizePhase) => void, clock: PhaseClock): Promise<void> {
    if (resumed) {
      // Same inputs, same arithmetic: the activations reach the next layer exactly as in the first run.
      phase('replay');
      const weights = settings.advanceThrough === 'quantized' ? withWeights(source, readCheckpointWeights(readLayerCheckpoint(jobDir, layer) as LayerCheckpoint)) : source;
      await stream.forwardLayer(layer, weights, { collect: false, advance: true });
      return;
    }
    phase('calibrate');
    const advanceNow = settings.advanceThrough === 'original';
    const hessians = (await stream.forwardLayer(layer, source, {
      collect: true,
      advance: advanceNow,
      onProgress: (doneTokens, totalTokens) => onEvent?.({ type: 'calibration', doneTokens, totalTokens }),
    })) as LayerHessians;
    const prepared = new Map<HessianGroup, PreparedHessian>();
    const tensors: SafetensorsTensorInput[] = [];
    const projections: ProjectionSummary[] = [];
    const quantizedWeights = new Map<string, Float32Array>();
    for (const spec of specs.filter((candidate) => candidate.layer === layer)) {
      const group = spec.input;
      const hessian = hessians[group];
      let groupPrepared = prepared.get(group);
      if (!groupPrepared) {
        phase('prepare');
        groupPrepared = await backend.prepareHessian(hessian, {
          damp: settings.damp,
          inverseDamp: settings.damp,
          order: settings.method === 'rtn' || !settings.vptq.enablePerm ? 'identity' : 'diag-desc',
        });
        prepared.set(group, groupPrepared);
      }
      phase('quantize');
      const result = await quantizeLinear({
        spec,
        weight: source.readTensor(`${spec.prefix}.weight`),
        bias: spec.bias ? source.readTensor(`${spec.prefix}.bias`) : undefined,
        prepared: groupPrepared,
        hessian,
        method: settings.method,
        bits: settings.bits,
        vptq: settings.vptq,
        dtype: settings.dtype,
        seed: deriveSeed(settings.seed, layer, spec.name),
        backend,
        onProgress: (name, fraction) => onEvent?.({ type: 'linear', layer, name: spec.prefix, phase: name, fraction }),
      });
      tensors.push(...result.tensors);
      projections.push(result.summary);
      quantizedWeights.set(`${spec.prefix}.weight`, result.weight);
    }
    // The phases so far go into the checkpoint, for the report of a run that resumes this one.
    const computedSeconds = roundPhases(clock.stop().phases);
    phase('checkpoint');
    // A lost device may have let a pass end without an error; nothing it computed is written.
    if (backend.lost()) throw new Error(`the device was lost before layer ${layer} was checkpointed`);
    writeLayerCheckpoint(jobDir, layer, { tensors, summary: { projections, seconds: computedSeconds } });
    if (!advanceNow && layer < lastPending) {
      phase('advance');
      await stream.forwardLayer(layer, withWeights(source, quantizedWeights), { collect: false, advance: true });
    }
  }
}

/**
 * Runs `work`, turning a GPU out-of-memory or device loss into a {@link QuantizeDeviceError} that names the layer
 * and phase (`where()`), the bytes the run needs and where the finished layers are kept.
 */
async function onDevice<T>(
  backend: QuantizeBackend,
  jobDirectory: string,
  where: () => { layer: number; phase: string },
  work: () => Promise<T>,
  shape: { config: LlamaConfig; tokens: number; window: number },
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (backend.kind !== 'gpu') throw error;
    const { layer, phase } = where();
    const code = (error as { code?: unknown }).code;
    const kept = layer === 0 ? 'no layer was finished yet' : `layers 0–${layer - 1} are kept in ${jobDirectory}`;
    const details = { layer, phase, jobDirectory };
    if (backend.lost() || code === 'VPTQ_GPU_DEVICE_LOST') {
      throw new QuantizeDeviceError(
        'VPTQ_QUANTIZE_GPU_LOST',
        `quantize: the GPU was lost in layer ${layer} (${phase}): ${(error as Error).message}. ${kept}; run the same command again to continue.`,
        details,
        { cause: error },
      );
    }
    if (code === 'VPTQ_GPU_OUT_OF_MEMORY') {
      const estimate = estimateGpuMemory(shape.config, shape.tokens, shape.window, gpuChunkTokens);
      const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
      throw new QuantizeDeviceError(
        'VPTQ_QUANTIZE_GPU_OUT_OF_MEMORY',
        `quantize: the GPU ran out of memory in layer ${layer} (${phase}): the run needs about ${gb(estimate.peak)} of GPU buffers ` +
          `(calibration stream ${gb(estimate.stream)}, then either the calibration pass: layer weights ${gb(estimate.layerWeights)}, runner ${gb(estimate.runner)}, ` +
          `Hessian accumulators ${gb(estimate.accumulators)}; or one projection's quantization ${gb(estimate.quantize)}). ${kept}; ` +
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

type ResolvedSettings = ReturnType<typeof resolveSettings>;

/**
 * Validates the VPTQ settings against every projection, and refuses settings whose files the reference
 * implementation would decode wrongly (Kr > K, several groups with Kr ≠ K, tiny packed rows; spec §5.3) unless
 * `allowReferenceMisreads` is set, in which case it warns once per kind of misread.
 */
function checkReferenceMisreads(specs: readonly LinearSpec[], settings: ResolvedSettings, log: (message: string) => void): void {
  const layersByMisread = new Map<string, string[]>();
  for (const spec of specs) {
    for (const misread of validateLinear(spec, settings.vptq)) {
      const layers = layersByMisread.get(misread.message) ?? [];
      layersByMisread.set(misread.message, [...layers, spec.prefix]);
    }
  }
  if (layersByMisread.size === 0) return;
  const lines = [...layersByMisread].map(([message, layers]) => `${layers[0]}${layers.length > 1 ? ` (and ${layers.length - 1} more)` : ''}: ${message}`);
  if (!settings.allowReferenceMisreads) {
    throw new RangeError(
      `quantize: the reference implementation (microsoft/VPTQ) would decode these layers wrongly, though this library reads them right:\n  ${lines.join('\n  ')}\n` +
        'Choose other settings, or pass allowReferenceMisreads: true (--allow-reference-misreads) to write them anyway.',
    );
  }
  for (const line of lines) log(`warning: the reference implementation would misread ${line}`);
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
    const widest = Math.max(...specs.map((spec) => spec.inFeatures));
    if (calibration.length < minimumTokensPerColumn * widest) {
      throw new RangeError(
        `quantize: calibration text ${calibrationPath} is too short: ${calibration.length} tokens, at least ${minimumTokensPerColumn * widest} needed (${minimumTokensPerColumn} per input column of the widest layer, ${widest})`,
      );
    }
    return calibration;
  } finally {
    original.close();
  }
}

function resolveSettings(options: QuantizeOptions) {
  const method = options.method ?? quantizeDefaults.method;
  if (method !== 'vptq' && method !== 'gptq' && method !== 'rtn') {
    throw new RangeError(`quantize: method must be vptq, gptq or rtn (got ${String(method)})`);
  }
  const bits = options.bits ?? quantizeDefaults.bits;
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new RangeError(`quantize: bits must be an integer in [1, 8] (got ${bits})`);
  const outliers = (options.outlierPercent ?? quantizeDefaults.outlierPercent) > 0;
  const vptq: Required<VptqSettings> = {
    vectorLength: options.vectorLength ?? quantizeDefaults.vectorLength,
    numCentroids: options.numCentroids ?? quantizeDefaults.numCentroids,
    numResidualCentroids: options.numResidualCentroids ?? quantizeDefaults.numResidualCentroids,
    outlierPercent: options.outlierPercent ?? quantizeDefaults.outlierPercent,
    outlierVectorLength: outliers ? (options.outlierVectorLength ?? quantizeDefaults.outlierVectorLength) : 0,
    numOutlierCentroids: outliers ? (options.numOutlierCentroids ?? quantizeDefaults.numOutlierCentroids) : 0,
    groupNum: options.groupNum ?? quantizeDefaults.groupNum,
    enableNorm: options.enableNorm ?? quantizeDefaults.enableNorm,
    enablePerm: options.enablePerm ?? quantizeDefaults.enablePerm,
    kmeansIterations: options.kmeansIterations ?? quantizeDefaults.kmeansIterations,
    refineIterations: options.refineIterations ?? quantizeDefaults.refineIterations,
    refineTolerance: options.refineTolerance ?? quantizeDefaults.refineTolerance,
  };
  const damp = options.damp ?? quantizeDefaults.damp;
  if (!(damp > 0 && damp < 1)) throw new RangeError(`quantize: damp must be in (0, 1) (got ${damp})`);
  const calibrationTokens = options.calibrationTokens ?? quantizeDefaults.calibrationTokens;
  if (!Number.isInteger(calibrationTokens) || calibrationTokens < 1) {
    throw new RangeError(`quantize: calibrationTokens must be a positive integer (got ${calibrationTokens})`);
  }
  const seed = options.seed ?? quantizeDefaults.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`quantize: seed must be a 32-bit unsigned integer (got ${seed})`);
  const dtype = options.dtype ?? quantizeDefaults.dtype;
  const allowReferenceMisreads = options.allowReferenceMisreads ?? quantizeDefaults.allowReferenceMisreads;
  const device = options.device ?? quantizeDefaults.device;
  if (device !== 'auto' && device !== 'cpu' && device !== 'gpu') throw new RangeError(`quantize: device must be auto, cpu or gpu (got ${String(device)})`);
  const advanceThrough = options.advanceThrough ?? quantizeDefaults.advanceThrough;
  if (advanceThrough !== 'original' && advanceThrough !== 'quantized') {
    throw new RangeError(`quantize: advanceThrough must be original or quantized (got ${String(advanceThrough)})`);
  }
  const calibrationWindow = options.calibrationWindow ?? quantizeDefaults.calibrationWindow;
  if (!Number.isInteger(calibrationWindow) || calibrationWindow < 1) {
    throw new RangeError(`quantize: calibrationWindow must be a positive integer (got ${calibrationWindow})`);
  }
  return { method, bits, vptq, damp, calibrationTokens, calibrationWindow, advanceThrough, seed, dtype, allowReferenceMisreads, device };
}

/** A per-projection seed: the same for a layer whether or not the run was resumed. */
function deriveSeed(seed: number, layer: number, name: string): number {
  let hash = (seed ^ 0x9e3779b9) >>> 0;
  for (const code of `${layer}:${name}`) hash = Math.imul(hash ^ code.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
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

/** Every finished layer's checkpoint, in model order. */
function readLayers(jobDir: string, layers: number): LayerCheckpoint[] {
  return Array.from({ length: layers }, (_, layer) => {
    const checkpoint = readLayerCheckpoint(jobDir, layer);
    if (!checkpoint) throw new Error(`quantize: layer ${layer} is missing from ${jobDir}`);
    return checkpoint;
  });
}

/** Index and total bits per weight, weighted over all quantized projections. */
function weightedBits(summaries: readonly ProjectionSummary[]): { indexBitsPerWeight: number; totalBitsPerWeight: number } {
  const weights = summaries.reduce((sum, p) => sum + p.outFeatures * p.inFeatures, 0);
  const weighted = (key: 'indexBits' | 'totalBits') => summaries.reduce((sum, p) => sum + p[key] * p.outFeatures * p.inFeatures, 0) / weights;
  return { indexBitsPerWeight: weighted('indexBits'), totalBitsPerWeight: weighted('totalBits') };
}

/** The resolved settings as the flat `quantize` options (the report lists them as the CLI's flags). */
function flatSettings({ vptq, ...rest }: ResolvedSettings): QuantizeSettings {
  return { ...rest, ...vptq };
}

/** Seconds to the millisecond: the report's times are wall-clock, finer digits are noise. */
function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function roundPhases(phases: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(phases).map(([phase, seconds]) => [phase, roundSeconds(seconds)]));
}

/**
 * Writes the output directory under a temporary name and renames it into place: the non-quantized tensors and
 * every layer's checkpointed tensors, `config.json`, the tokenizer files and the quantization report.
 */
function writeOutput(
  out: string,
  layers: readonly LayerCheckpoint[],
  source: ModelSource,
  sourceDir: string,
  tokenizerDir: string,
  settings: ResolvedSettings,
  report: QuantizationReport,
  overwrite: boolean,
): void {
  const config = source.config;
  // The tensors the quantized layers hold: every weight, and the biases the architecture gives (the layer stores them).
  const quantized = new Set(listLinearSpecs(config).flatMap((spec) => [`${spec.prefix}.weight`, ...(spec.bias ? [`${spec.prefix}.bias`] : [])]));
  const tensors: SafetensorsTensorInput[] = source.tensors
    .filter((info) => !quantized.has(info.name))
    .map((info) => ({ name: info.name, dtype: 'F32', shape: info.shape, data: source.readTensor(info.name) }));
  for (const checkpoint of layers) tensors.push(...checkpoint.tensors);
  const summaries = layers.flatMap((checkpoint) => checkpoint.summary.projections);

  const sourceConfig = JSON.parse(readFileSync(join(sourceDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const outConfig: Record<string, unknown> = { ...sourceConfig, torch_dtype: 'float32' };
  if (settings.method === 'vptq') {
    const configForLayers: Record<string, unknown> = {};
    for (const summary of summaries) configForLayers[summary.name] = summary.layerConfig;
    outConfig.quantization_config = { quant_method: 'vptq', config_for_layers: configForLayers, shared_layer_config: {} };
  } else {
    // Baselines are stored dequantized (a plain HF model), with a note of how they were made.
    outConfig.vptq_baseline = { method: settings.method, bits: settings.bits };
  }

  const temporary = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  try {
    mkdirSync(temporary, { recursive: true });
    writeFileAtomic(join(temporary, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
    writeFileAtomic(join(temporary, 'config.json'), `${JSON.stringify(outConfig, null, 2)}\n`);
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
