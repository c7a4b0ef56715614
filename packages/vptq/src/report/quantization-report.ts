import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { QuantizeSettings } from '../quantize/quantize-defaults';
import type { ReportedSettings } from '../quantize/quantize-settings';
import type { ProjectionSummary } from '../quantize/layer-checkpoint';
import { writeFileAtomic } from '../quantize/write-atomic';

/** The file `quantize` writes into its output directory with everything a quantization report shows. */
export const quantizationReportFile = 'quantization-report.json';

const reportFormat = 'vptq-quantization-report';
const reportVersion = 1;

/**
 * What a finished `quantize` run keeps for its report (`quantization-report.json` in the output directory,
 * README "The quantization report"). Everything but `timing` is the same for the same inputs, settings and device;
 * `perplexity` starts empty and grows as `vptq demo` or `vptq eval --record-in` measure the model.
 */
export interface QuantizationReport {
  readonly format: typeof reportFormat;
  readonly version: typeof reportVersion;
  /** File or directory name of the input model. */
  readonly model: string;
  readonly method: QuantizeSettings['method'];
  /** Every setting of the run (the flags of `vptq quantize`), defaults filled in. */
  /** Every setting but `projectionsInFlight` (which changes no byte). */
  readonly settings: ReportedSettings;
  /** Where it ran, and on what (`CPU`, `GPU <adapter>`). */
  readonly device: 'cpu' | 'gpu';
  readonly deviceDescription: string;
  readonly calibrationTokens: number;
  /** Weighted over all quantized projections. */
  readonly indexBitsPerWeight: number;
  readonly totalBitsPerWeight: number;
  /** Per decoder layer, in model order: its projections' proxy errors, bits and k-means runs. */
  readonly layers: readonly ReportLayer[];
  readonly timing: ReportTiming;
  /** Perplexities measured on this model (and its full-precision original), in the order recorded. */
  readonly perplexity: readonly ReportPerplexity[];
}

/** One decoder layer of a {@link QuantizationReport}. */
export interface ReportLayer {
  readonly layer: number;
  /** The projections' summaries (`layerConfig` left out: `config.json` holds it). */
  readonly projections: readonly Omit<ProjectionSummary, 'layerConfig'>[];
}

/** Wall-clock times of the run: the only part of a report that differs between two runs of the same job. */
export interface ReportTiming {
  /** From the start of this run of `quantize` to the writing of the output (an interrupted earlier run not included). */
  readonly totalSeconds: number;
  /** Layers an interrupted earlier run had finished (their phases are that run's, plus this run's `replay`). */
  readonly resumedLayers: number;
  /** Seconds per phase (`calibrate`, `prepare`, `quantize`, `checkpoint`, `advance`, `replay`) of each layer. */
  readonly layers: readonly { readonly layer: number; readonly resumed: boolean; readonly seconds: Readonly<Record<string, number>> }[];
}

/** One measured perplexity (the runtime's per-story protocol). */
export interface ReportPerplexity {
  /** What was measured, e.g. `fp32` or `vptq v8-k256-r256`; a new row with the same label and text replaces the old. */
  readonly label: string;
  /** The model as given to the command. */
  readonly model: string;
  /** File name of the evaluation text. */
  readonly text: string;
  readonly perplexity: number;
  readonly tokens: number;
  readonly stories: number;
}

/** Why a quantization report could not be read. */
export type QuantizationReportErrorCode = 'VPTQ_REPORT_MISSING' | 'VPTQ_REPORT_INVALID';

/** A missing or unreadable quantization report; `code` says which. */
export class QuantizationReportError extends Error {
  override readonly name = 'QuantizationReportError';
  readonly code: QuantizationReportErrorCode;

  constructor(code: QuantizationReportErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Reads the quantization report `quantize` left in its output directory.
 *
 * @param dir - an output directory of `quantize` (`vptq quantize -o DIR`).
 * @throws {QuantizationReportError} `VPTQ_REPORT_MISSING` when `dir` does not exist, is not a directory or holds
 *   no `quantization-report.json`; `VPTQ_REPORT_INVALID` when that file is not a report this version reads.
 */
export function readQuantizationReport(dir: string): QuantizationReport {
  if (!existsSync(dir)) throw new QuantizationReportError('VPTQ_REPORT_MISSING', `report: ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) {
    throw new QuantizationReportError('VPTQ_REPORT_MISSING', `report: ${dir} is not a directory (give the output directory of vptq quantize)`);
  }
  const file = join(dir, quantizationReportFile);
  if (!existsSync(file)) {
    throw new QuantizationReportError(
      'VPTQ_REPORT_MISSING',
      `report: ${dir} holds no ${quantizationReportFile}: it is not an output directory of vptq quantize, or one written before reports existed; quantize the model again to get one`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new QuantizationReportError('VPTQ_REPORT_INVALID', `report: ${file} is not valid JSON (${(error as Error).message})`);
  }
  return checkReport(parsed, file);
}

/**
 * Adds a measured perplexity to the report in `dir` (replacing a row with the same label and text), written
 * atomically.
 *
 * @throws {QuantizationReportError} as {@link readQuantizationReport}.
 */
export function recordPerplexity(dir: string, row: ReportPerplexity): QuantizationReport {
  const report = readQuantizationReport(dir);
  const kept = report.perplexity.filter((old) => old.label !== row.label || old.text !== row.text);
  const updated: QuantizationReport = { ...report, perplexity: [...kept, row] };
  writeQuantizationReport(dir, updated);
  return updated;
}

/** Writes `report` into `dir` atomically, as the file {@link readQuantizationReport} reads. */
export function writeQuantizationReport(dir: string, report: QuantizationReport): void {
  writeFileAtomic(join(dir, quantizationReportFile), `${JSON.stringify(report)}\n`);
}

/** Starts a report: the fixed fields, for `quantize` to fill in. */
export function createQuantizationReport(fields: Omit<QuantizationReport, 'format' | 'version' | 'perplexity'>): QuantizationReport {
  return { format: reportFormat, version: reportVersion, ...fields, perplexity: [] };
}

function checkReport(value: unknown, file: string): QuantizationReport {
  const invalid = (what: string) => new QuantizationReportError('VPTQ_REPORT_INVALID', `report: ${file} ${what}`);
  if (typeof value !== 'object' || value === null) throw invalid('is not a JSON object');
  const report = value as Partial<QuantizationReport>;
  if (report.format !== reportFormat) throw invalid(`is not a vptq quantization report (format ${JSON.stringify(report.format)}, expected "${reportFormat}")`);
  if (report.version !== reportVersion) {
    throw invalid(`has version ${JSON.stringify(report.version)}; this vptq reads version ${reportVersion}`);
  }
  if (!Array.isArray(report.layers) || report.layers.some((layer) => !Array.isArray(layer?.projections))) {
    throw invalid('has no valid layers (each with its projections)');
  }
  if (typeof report.timing !== 'object' || report.timing === null || !Array.isArray(report.timing.layers)) throw invalid('has no valid timing');
  if (!Array.isArray(report.perplexity)) throw invalid('has no perplexity list');
  return report as QuantizationReport;
}
