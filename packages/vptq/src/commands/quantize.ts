import type { Command } from 'commander';

import { quantizeDistributed } from '../distributed/quantize-distributed';
import { quantize } from '../quantize/quantize-model';
import type { QuantizeEvent } from '../quantize/quantize-options';
import { createProgressGroup } from '../progress';
import { PhaseClock } from '../phase-clock';
import { checkReportFile, writeReportHtml } from './report';
import { integerOption } from './parse-options';
import { addQuantizeFlags, quantizeSettingsFromFlags } from './quantize-flags';

interface QuantizeFlags {
  queue?: string;
  layersInFlight?: number;
  attempts?: number;
  reconnectTimeout?: number;
  model: string;
  tokenizer?: string;
  calib: string;
  out: string;
  overwrite?: boolean;
  json?: boolean;
  report?: string;
}

/** `vptq quantize`: quantize every decoder linear and write a complete Hugging Face directory. */
export function registerQuantize(program: Command): void {
  const command = program
    .command('quantize')
    .description('quantize a model with VPTQ (or the GPTQ/RTN baselines); resumable, writes a Hugging Face directory')
    .requiredOption('-m, --model <path>', 'llama2.c .bin or Hugging Face Llama-family directory')
    .option('-t, --tokenizer <path>', 'tokenizer (default: found beside the model)')
    .requiredOption('--calib <file>', 'calibration text (UTF-8)')
    .requiredOption('-o, --out <dir>', 'output directory')
    .option('--overwrite', 'replace an existing output directory')
    .option('--report <file>', 'also write the quantization report as one self-contained HTML page (later: vptq report DIR)')
    .option('--json', 'print the result as JSON')
    .option('--queue <url>', 'quantize the projections on vptq worker processes that take jobs from this Redis queue (redis://HOST:PORT); the output directory must be on storage the workers share')
    .option('--layers-in-flight <n>', 'with --queue and --advance original: layers whose projections may be queued at once', integerOption('--layers-in-flight', 1), 4)
    .option('--attempts <n>', 'with --queue: attempts per projection job before the run fails', integerOption('--attempts', 1), 3)
    .option('--reconnect-timeout <ms>', 'with --queue: how long to try to reach a Redis that went away before failing (the finished layers stay)', integerOption('--reconnect-timeout', 100), 60_000);
  addQuantizeFlags(command).action(async (flags: QuantizeFlags & Record<string, unknown>) => {
    if (flags.report !== undefined) checkReportFile(flags.report);
    const started = performance.now();
    const bars = createQuantizeProgress();
    let result: Awaited<ReturnType<typeof quantize>>;
    try {
      const options = {
        model: flags.model,
        tokenizer: flags.tokenizer,
        calibration: flags.calib,
        out: flags.out,
        ...quantizeSettingsFromFlags(flags),
        overwrite: flags.overwrite === true,
        onEvent: bars.onEvent,
      };
      result =
        flags.queue === undefined
          ? await quantize(options)
          : await quantizeDistributed({ ...options, queue: flags.queue, layersInFlight: flags.layersInFlight, attempts: flags.attempts, reconnectTimeoutMs: flags.reconnectTimeout });
    } finally {
      bars.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    if (flags.report !== undefined) writeReportHtml(result.out, flags.report);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds })}\n`);
      return;
    }
    const meanProxy = result.projections.reduce((sum, p) => sum + p.proxyError, 0) / result.projections.length;
    process.stdout.write(
      `wrote ${result.out} (${result.method}): ${result.indexBitsPerWeight.toFixed(3)} index bits/weight, ` +
        `${result.totalBitsPerWeight.toFixed(3)} total bits/weight, mean proxy error ${meanProxy.toExponential(3)}, ` +
        `${result.projections.length} linears, ${result.calibrationTokens} calibration tokens` +
        `${result.resumedLayers > 0 ? `, ${result.resumedLayers} layers resumed` : ''}, ${seconds.toFixed(1)} s\n`,
    );
    if (flags.report !== undefined) process.stdout.write(`wrote the report ${flags.report}\n`);
  });
}

/**
 * Progress of a run: bars for the layers (with the current phase and an ETA), the calibration pass and the
 * k-means / column loop of the projection being quantized on a terminal; a line per finished layer otherwise
 * (logs, CI), with its time by phase and the ETA.
 */
export function createQuantizeProgress(stream: NodeJS.WriteStream = process.stderr): { onEvent: (event: QuantizeEvent) => void; stop: () => void } {
  const group = createProgressGroup({ stream });
  const lines = stream.isTTY !== true;
  const layerSeconds: number[] = [];
  let current: { layer: number; layers: number; clock: PhaseClock } | undefined;
  /** Time left for `layers` more layers, at the mean of the layers computed so far. */
  const remaining = (layers: number): string => {
    if (layerSeconds.length === 0) return '';
    const seconds = (layerSeconds.reduce((a, b) => a + b, 0) / layerSeconds.length) * layers;
    return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s` : `${Math.round(seconds)} s`;
  };
  const finishLayer = () => {
    if (!current) return;
    const { phases, total } = current.clock.stop();
    layerSeconds.push(total);
    if (lines) {
      const times = Object.entries(phases)
        .map(([name, time]) => `${name} ${time.toFixed(1)}`)
        .join(', ');
      const left = current.layers - current.layer - 1;
      stream.write(`layer ${current.layer + 1}/${current.layers} done in ${total.toFixed(1)} s (${times})${left > 0 ? `, eta ${remaining(left)}` : ''}\n`);
    }
    current = undefined;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'log':
          stream.write(`${event.message}\n`);
          break;
        case 'calibration':
          group.update('calibration', 'calibration tokens', event.doneTokens, event.totalTokens);
          break;
        case 'layer':
          finishLayer();
          if (!event.resumed) current = { layer: event.layer, layers: event.layers, clock: new PhaseClock() };
          group.update('layers', `layer ${event.layer + 1}/${event.layers}${event.resumed ? ' (resumed)' : ''}`, event.layer, event.layers);
          break;
        case 'phase': {
          if (!current || current.layer !== event.layer) {
            // A replayed layer (finished by an earlier run) reports phases too; it is not timed.
            break;
          }
          current.clock.enter(event.phase);
          const eta = layerSeconds.length > 0 ? `, eta ${remaining(current.layers - event.layer)}` : '';
          group.update('layers', `layer ${event.layer + 1}/${current.layers} ${event.phase}${eta}`, event.layer, current.layers);
          break;
        }
        case 'linear':
          group.update('linear', `${event.name.replace(/^model\.layers\./, '')} ${event.phase}`, Math.round(event.fraction * 1000), 1000);
          break;
      }
    },
    stop() {
      finishLayer();
      group.stop();
    },
  };
}
