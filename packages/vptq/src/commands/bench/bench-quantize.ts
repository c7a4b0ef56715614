import { rmSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { quantize } from '../../quantize/quantize-model';
import { makeScratchDir } from '../scratch-dir';
import { printTable } from '../print-table';
import { integerOption } from '../parse-options';
import { addQuantizeFlags, describeVptq, quantizeSettingsFromFlags } from '../quantize-flags';

interface BenchQuantizeFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  repeats: number;
}

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
    .option('--repeats <n>', 'runs (the median is reported)', integerOption('--repeats', 1), 3);
  addQuantizeFlags(command).action(async (flags: BenchQuantizeFlags & Record<string, unknown>) => {
    const settings = quantizeSettingsFromFlags(flags);
    const scratch = makeScratchDir();
    const times: number[] = [];
    let weights = 0;
    try {
      for (let run = 0; run < flags.repeats; run++) {
        const out = join(scratch, `run-${run}`);
        const started = performance.now();
        const result = await quantize({
          model: flags.model,
          tokenizer: flags.tokenizer,
          calibration: flags.calib,
          out,
          ...settings,
        });
        times.push((performance.now() - started) / 1000);
        weights = result.projections.reduce((sum, p) => sum + p.outFeatures * p.inFeatures, 0);
        rmSync(out, { recursive: true, force: true });
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
        [`vptq (this CPU, median of ${times.length})`, `${flags.model} ${describeVptq(settings)}, whole model`, median.toFixed(2), ours.toExponential(2), (ours / theirs).toFixed(3)],
      ],
    );
    process.stdout.write(
      '\nThe workloads differ (K = 65536 on a 58.7 M-weight layer vs the whole small model): k-means cost grows with K·vectors, ' +
        'so the weights/s ratio is a rate comparison, not a like-for-like race.\n',
    );
  });
}
