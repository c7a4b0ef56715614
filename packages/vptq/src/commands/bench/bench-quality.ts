import { rmSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';
import { perplexity } from '@vptq/runtime';

import { load } from '../../load';
import { makeScratchDir } from '../scratch-dir';
import { quantize } from '../../quantize/quantize-model';
import type { QuantizeOptions } from '../../quantize/quantize-options';
import { printTable } from '../print-table';
import { readTextFile } from '../read-text-file';
import { integerOption } from '../parse-options';
import { parseVptqSpec } from './parse-vptq-spec';

interface BenchQualityFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  text: string;
  maxStories?: number;
  bits: string;
  vptq: string[];
  json?: boolean;
}

/** One row of the quality table. */
interface QualityRow {
  readonly method: string;
  readonly setting: string;
  readonly indexBits: number;
  readonly totalBits: number;
  readonly perplexity: number;
  readonly ratio: number;
  readonly seconds: number;
}

/**
 * `vptq bench quality`: perplexity of fp32, RTN, scalar GPTQ and VPTQ side by side, with both bits-per-weight
 * columns (index bits; total bits including codebooks, norm, perm and padding, or per-row scale and zero).
 */
export function registerBenchQuality(bench: Command): void {
  bench
    .command('quality')
    .description('perplexity of fp32, RTN, GPTQ and VPTQ at several bit widths, with both bits-per-weight columns')
    .requiredOption('-m, --model <path>', 'model')
    .option('-t, --tokenizer <path>', 'tokenizer')
    .requiredOption('--calib <file>', 'calibration text')
    .requiredOption('--text <file>', 'evaluation text')
    .option('--max-stories <n>', 'evaluate only the first n stories', integerOption('--max-stories', 1))
    .option('--bits <list>', 'bit widths of the RTN and GPTQ baselines', '2,3,4')
    .option('--vptq <settings...>', 'VPTQ settings (v4-k256, v4-k256-r16, v4-k256-g2)', ['v4-k256', 'v2-k64', 'v2-k256'])
    .option('--json', 'print JSON rows')
    .action(async (flags: BenchQualityFlags) => {
      const text = readTextFile('--text', flags.text);
      const scratch = makeScratchDir();
      const rows: QualityRow[] = [];
      const evaluate = (path: string, tokenizer?: string) => {
        const { model, tokenizer: loaded } = load(path, { tokenizer });
        return perplexity(model, loaded, text, { maxStories: flags.maxStories }).perplexity;
      };
      const timed = <T>(work: () => T): [T, number] => {
        const started = performance.now();
        const result = work();
        return [result, (performance.now() - started) / 1000];
      };
      try {
        const [fp32, fp32Seconds] = timed(() => evaluate(flags.model, flags.tokenizer));
        rows.push({ method: 'fp32', setting: '', indexBits: 32, totalBits: 32, perplexity: fp32, ratio: 1, seconds: fp32Seconds });
        const runs: { method: 'rtn' | 'gptq' | 'vptq'; setting: string; options: Partial<QuantizeOptions> }[] = [];
        for (const bits of flags.bits.split(',').map(Number)) {
          runs.push({ method: 'rtn', setting: `${bits}-bit`, options: { method: 'rtn', bits } });
          runs.push({ method: 'gptq', setting: `${bits}-bit`, options: { method: 'gptq', bits } });
        }
        for (const spec of flags.vptq) runs.push({ method: 'vptq', setting: spec, options: parseVptqSpec('bench quality: --vptq', spec) });
        for (const run of runs) {
          const out = join(scratch, `${run.method}-${run.setting}`);
          const started = performance.now();
          const result = await quantize({ model: flags.model, tokenizer: flags.tokenizer, calibration: flags.calib, out, ...run.options });
          const seconds = (performance.now() - started) / 1000;
          const value = evaluate(out);
          rows.push({
            method: run.method,
            setting: run.setting,
            indexBits: result.indexBitsPerWeight,
            totalBits: result.totalBitsPerWeight,
            perplexity: value,
            ratio: value / fp32,
            seconds,
          });
          rmSync(out, { recursive: true, force: true });
          process.stderr.write(`${run.method} ${run.setting}: ${value.toFixed(3)}\n`);
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      printTable(
        ['method', 'setting', 'index bits/w', 'total bits/w', 'perplexity', '× fp32', 'quantize s'],
        rows.map((row) => [
          row.method,
          row.setting,
          row.indexBits.toFixed(3),
          row.totalBits.toFixed(3),
          row.perplexity.toFixed(3),
          row.ratio.toFixed(3),
          row.method === 'fp32' ? '' : row.seconds.toFixed(1),
        ]),
      );
    });
}
