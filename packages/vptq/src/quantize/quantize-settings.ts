import type { LinearSpec } from '@vptq/loader';

import type { ProjectionSummary } from './layer-store';
import { quantizeDefaults } from './quantize-defaults';
import type { QuantizeSettings } from './quantize-defaults';
import { validateLinear } from './quantize-linear';
import type { VptqSettings } from './quantize-options';

/** The calibration text must give at least this many tokens per input column of the widest layer. */
export const minimumTokensPerColumn = 2;

/** Throws a RangeError naming `what` (`quantize: calibration text <path>`) when `tokens` are too few for `specs`. */
export function checkCalibrationLength(tokens: number, specs: readonly LinearSpec[], what: string): void {
  const widest = Math.max(...specs.map((spec) => spec.inFeatures));
  if (tokens < minimumTokensPerColumn * widest) {
    throw new RangeError(
      `${what} is too short: ${tokens} tokens, at least ${minimumTokensPerColumn * widest} needed (${minimumTokensPerColumn} per input column of the widest layer, ${widest})`,
    );
  }
}

export type ResolvedSettings = ReturnType<typeof resolveSettings>;

/**
 * Validates the VPTQ settings against every projection, and refuses settings whose files the reference
 * implementation would decode wrongly (Kr > K, several groups with Kr ≠ K, tiny packed rows; spec §5.3) unless
 * `allowReferenceMisreads` is set, in which case it warns once per kind of misread.
 */
export function checkReferenceMisreads(specs: readonly LinearSpec[], settings: ResolvedSettings, log: (message: string) => void): void {
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

export function resolveSettings(options: Partial<QuantizeSettings>) {
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
  const projectionsInFlight = options.projectionsInFlight ?? quantizeDefaults.projectionsInFlight;
  if (projectionsInFlight !== 'auto' && !(Number.isInteger(projectionsInFlight) && projectionsInFlight >= 1 && projectionsInFlight <= 8)) {
    throw new RangeError(`quantize: projectionsInFlight must be auto or an integer from 1 to 8 (got ${String(projectionsInFlight)})`);
  }
  return { method, bits, vptq, damp, calibrationTokens, calibrationWindow, advanceThrough, seed, dtype, allowReferenceMisreads, device, projectionsInFlight };
}

/** A per-projection seed: the same for a layer whether or not the run was resumed. */
export function deriveSeed(seed: number, layer: number, name: string): number {
  let hash = (seed ^ 0x9e3779b9) >>> 0;
  for (const code of `${layer}:${name}`) hash = Math.imul(hash ^ code.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

/** Index and total bits per weight, weighted over all quantized projections. */
export function weightedBits(summaries: readonly ProjectionSummary[]): { indexBitsPerWeight: number; totalBitsPerWeight: number } {
  const weights = summaries.reduce((sum, p) => sum + p.outFeatures * p.inFeatures, 0);
  const weighted = (key: 'indexBits' | 'totalBits') => summaries.reduce((sum, p) => sum + p[key] * p.outFeatures * p.inFeatures, 0) / weights;
  return { indexBitsPerWeight: weighted('indexBits'), totalBitsPerWeight: weighted('totalBits') };
}

/**
 * The resolved settings as the flat `quantize` options, as the report lists them (the CLI's flags), less
 * `projectionsInFlight`: it changes no byte of the output, so two runs of one job report the same settings.
 */
export function flatSettings({ vptq, projectionsInFlight: _inFlight, ...rest }: ResolvedSettings): ReportedSettings {
  return { ...rest, ...vptq };
}

/** The settings a quantization report records. */
export type ReportedSettings = Omit<QuantizeSettings, 'projectionsInFlight'>;

/** Seconds to the millisecond: the report's times are wall-clock, finer digits are noise. */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

export function roundPhases(phases: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(phases).map(([phase, seconds]) => [phase, roundSeconds(seconds)]));
}
