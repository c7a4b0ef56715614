import { rmSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { quantize } from '../../quantize/quantize-model';
import { readQuantizationReport } from '../../report/quantization-report';
import { makeScratchDir } from '../scratch-dir';
import { PhaseClock } from '../../phase-clock';
import { printTable } from '../print-table';
import { integerOption } from '../parse-options';
import { describeVptq } from '../../quantize/describe-vptq';
import { addQuantizeFlags, quantizeSettingsFromFlags } from '../quantize-flags';
import type { ProjectionSummary } from '../../quantize/layer-store';

interface BenchQuantizeFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  repeats: number;
  keep?: string;
  json?: boolean;
}

/** Seconds per phase of each layer of the last run, from `quantize`'s phase events. */
type LayerBreakdown = Map<number, Record<string, number>>;

/** Seconds per quantizer phase (k-means, column loops, refinement) of each projection of the last run, by name. */
type ProjectionBreakdown = Map<string, Record<string, number>>;

/**
 * The reference's published quantization cost (spec §2, `algorithm:algorithm.md` log of Llama-3.1-8B `up_proj`,
 * 14336×4096, v8, K 65536, Kr 256, one GPU): k-means 130.6 s + column loop 5.6 s + residual k-means 0.9 s +
 * second loop 5.8 s for 58.7 M weights.
 */
const reference = { weights: 14336 * 4096, seconds: 130.6 + 5.6 + 0.9 + 5.8 };

/** `vptq bench quantize`: end-to-end quantization time of a whole model, next to the reference's published rate. */
export function registerBenchQuantize(bench: Command): void {
  const command = bench
    .command('quantize')
    .description('end-to-end quantization time (Hessians, k-means, column loops, packing) next to the reference implementation\'s published time')
    .requiredOption('-m, --model <path>', 'model')
    .option('-t, --tokenizer <path>', 'tokenizer')
    .requiredOption('--calib <file>', 'calibration text')
    .option('--repeats <n>', 'runs (the median is reported)', integerOption('--repeats', 1), 3)
    .option('--keep <dir>', 'keep the last run\'s output here (for eval / inspect)')
    .option('--json', 'also print the measurements as one JSON line');
  addQuantizeFlags(command).action(async (flags: BenchQuantizeFlags & Record<string, unknown>) => {
    const settings = quantizeSettingsFromFlags(flags);
    const scratch = makeScratchDir();
    const times: number[] = [];
    let weights = 0;
    let breakdown: LayerBreakdown = new Map();
    let byProjection: ProjectionBreakdown = new Map();
    let last: Awaited<ReturnType<typeof quantize>> | undefined;
    try {
      for (let run = 0; run < flags.repeats; run++) {
        const keep = flags.keep !== undefined && run === flags.repeats - 1;
        const out = keep ? (flags.keep as string) : join(scratch, `run-${run}`);
        const started = performance.now();
        byProjection = new Map();
        // One clock per projection, from its 'setup' event (reading the weight, uploads) through the quantizer's
        // phases to its 'done' event. Projections in flight at once overlap: each clock is that projection's wall
        // time, waits for the GPU included.
        const projections = new Map<string, PhaseClock>();
        last = await quantize({
          model: flags.model,
          tokenizer: flags.tokenizer,
          calibration: flags.calib,
          out,
          ...settings,
          overwrite: keep,
          onEvent: (event) => {
            if (event.type === 'log') process.stderr.write(`${event.message}\n`);
            if (event.type === 'linear') {
              let projection = projections.get(event.name);
              if (projection === undefined) projections.set(event.name, (projection = new PhaseClock()));
              if (event.phase === 'done') {
                byProjection.set(event.name, projection.stop().phases);
                projections.delete(event.name);
              } else {
                projection.enter(event.phase);
              }
            }
          },
        });
        // The layer loop's own clocks (in the report): with layers in flight their phases overlap in time.
        breakdown = new Map(readQuantizationReport(out).timing.layers.map(({ layer, seconds }) => [layer, { ...seconds }]));
        // In model order (projections in flight at once finish in any order).
        const order = new Map(last.projections.map((summary, index) => [summary.name, index]));
        byProjection = new Map([...byProjection].sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
        times.push((performance.now() - started) / 1000);
        weights = last.projections.reduce((sum, p) => sum + p.outFeatures * p.inFeatures, 0);
        if (!keep) rmSync(out, { recursive: true, force: true });
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
    const ours = weights / median;
    const theirs = reference.weights / reference.seconds;
    printTable(
      ['quantizer', 'workload', 'seconds', 'weights/s', 'ratio'],
      [
        ['microsoft/VPTQ, published (1 GPU)', 'Llama-3.1-8B up_proj 14336×4096 v8 k65536 r256', reference.seconds.toFixed(1), theirs.toExponential(2), '1.00'],
        [`vptq (${last?.deviceDescription ?? '?'}, median of ${times.length})`, `${flags.model} ${describeVptq(settings)}, whole model`, median.toFixed(2), ours.toExponential(2), (ours / theirs).toFixed(3)],
      ],
    );
    printBreakdown(breakdown, times[times.length - 1]);
    printProjectionBreakdown(byProjection, last?.projections ?? []);
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    process.stdout.write(
      `\nquantized on ${last?.deviceDescription}: ${last?.indexBitsPerWeight.toFixed(3)} index bits/weight, ${last?.totalBitsPerWeight.toFixed(3)} total; ` +
        `peak host RSS ${(peakRssBytes / 1e9).toFixed(2)} GB, peak GPU buffers ${((last?.peakDeviceBytes ?? 0) / 1e9).toFixed(2)} GB\n`,
    );
    if (flags.json) {
      const layers = [...breakdown].map(([layer, phases]) => ({ layer, ...phases }));
      const summaries = summariesByName(last?.projections ?? []);
      const projections = [...byProjection].map(([name, phases]) => ({ name, ...phases, ...runsOf(summaries.get(name)) }));
      process.stdout.write(
        `${JSON.stringify({ seconds: median, weights, peakRssBytes, peakDeviceBytes: last?.peakDeviceBytes, device: last?.deviceDescription, indexBits: last?.indexBitsPerWeight, layers, projections })}\n`,
      );
    }
    process.stdout.write(
      '\nThe workloads differ (K = 65536 on a 58.7 M-weight layer vs the whole small model): k-means cost grows with K·vectors, ' +
        'so the weights/s ratio is a rate comparison, not a like-for-like race.\n',
    );
  });
}

/** Per layer of the last run: seconds per phase, and the layers' sum against the whole run (setup, output). */
function printBreakdown(breakdown: LayerBreakdown, total: number): void {
  if (breakdown.size === 0) return;
  const phases = [...new Set([...breakdown.values()].flatMap((layer) => Object.keys(layer)))];
  const rows = [...breakdown].map(([layer, times]) => {
    const sum = Object.values(times).reduce((a, b) => a + b, 0);
    return [String(layer), ...phases.map((phase) => (times[phase] ?? 0).toFixed(2)), sum.toFixed(2)];
  });
  const layerSeconds = [...breakdown.values()].map((times) => Object.values(times).reduce((a, b) => a + b, 0));
  const inLayers = layerSeconds.reduce((a, b) => a + b, 0);
  process.stdout.write('\nper layer, seconds by phase (last run):\n');
  printTable(['layer', ...phases, 'layer total'], rows);
  if (inLayers <= total) {
    process.stdout.write(`layers ${inLayers.toFixed(1)} s of ${total.toFixed(1)} s; the rest (${(total - inLayers).toFixed(1)} s) is input checks, calibration encoding and the output.\n`);
  } else {
    process.stdout.write(
      `layers ${inLayers.toFixed(1)} s in a ${total.toFixed(1)} s run: with two layers in flight a layer's calibration runs while the one before it is quantized, so their phases overlap.\n`,
    );
  }
}

function summariesByName(projections: readonly ProjectionSummary[]): Map<string, ProjectionSummary> {
  return new Map(projections.map((summary) => [summary.name, summary]));
}

/** The Lloyd iterations of a projection's k-means runs (main, outlier, residual; joined by '+') and its refinement rounds. */
function runsOf(summary: ProjectionSummary | undefined): { kmeansIterations: string; refinementRounds: number | undefined } {
  return {
    kmeansIterations: (summary?.kmeans ?? []).map((run) => run.iterations).join('+'),
    refinementRounds: summary?.proxyErrorStages?.refinements.length,
  };
}

/** Per projection of the last run: seconds per quantizer phase, the k-means iterations and refinement rounds it ran. */
function printProjectionBreakdown(byProjection: ProjectionBreakdown, projections: readonly ProjectionSummary[]): void {
  if (byProjection.size === 0) return;
  const phases = [...new Set([...byProjection.values()].flatMap((times) => Object.keys(times)))];
  const summaries = summariesByName(projections);
  const rows = [...byProjection].map(([name, times]) => {
    const summary = summaries.get(name);
    const { kmeansIterations, refinementRounds } = runsOf(summary);
    const sum = Object.values(times).reduce((a, b) => a + b, 0);
    return [
      name,
      summary ? `${summary.outFeatures}×${summary.inFeatures}` : '',
      ...phases.map((phase) => (times[phase] ?? 0).toFixed(2)),
      sum.toFixed(2),
      kmeansIterations,
      String(refinementRounds ?? ''),
    ];
  });
  process.stdout.write(
    '\nper projection, seconds by quantizer phase (last run; the Hessian preparation is the layer\'s "prepare"; projections in flight at once overlap, so their sum can exceed the layer\'s "quantize"):\n',
  );
  printTable(['projection', 'out×in', ...phases, 'total', 'k-means iterations', 'refinement rounds'], rows);
}
