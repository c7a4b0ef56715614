import type { Command } from 'commander';

import { quantize } from '../quantize/quantize-model';
import type { QuantizeEvent } from '../quantize/quantize-options';
import { createProgressGroup } from '../progress';
import { addQuantizeFlags, quantizeSettingsFromFlags } from './quantize-flags';

interface QuantizeFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  out: string;
  overwrite?: boolean;
  json?: boolean;
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
    .option('--json', 'print the result as JSON');
  addQuantizeFlags(command).action(async (flags: QuantizeFlags & Record<string, unknown>) => {
    const started = performance.now();
    const bars = createQuantizeProgress();
    const result = await quantize({
      model: flags.model,
      tokenizer: flags.tokenizer,
      calibration: flags.calib,
      out: flags.out,
      ...quantizeSettingsFromFlags(flags),
      overwrite: flags.overwrite === true,
      onEvent: bars.onEvent,
    });
    bars.stop();
    const seconds = (performance.now() - started) / 1000;
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
  });
}

/** Bars for the calibration pass, the layers, and the k-means / column loop of the linear being quantized. */
function createQuantizeProgress(): { onEvent: (event: QuantizeEvent) => void; stop: () => void } {
  const group = createProgressGroup();
  return {
    onEvent(event) {
      switch (event.type) {
        case 'log':
          process.stderr.write(`${event.message}\n`);
          break;
        case 'calibration':
          group.update('calibration', 'calibration tokens (Hessians)', event.doneTokens, event.totalTokens);
          break;
        case 'layer':
          group.update('layers', `layer ${event.layer + 1}/${event.layers}${event.resumed ? ' (resumed)' : ''}`, event.layer, event.layers);
          break;
        case 'linear':
          group.update('linear', `${event.name.replace(/^model\.layers\./, '')} ${event.phase}`, Math.round(event.fraction * 1000), 1000);
          break;
      }
    },
    stop: () => group.stop(),
  };
}
