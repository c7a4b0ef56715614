import type { Command } from 'commander';
import { benchmarkEvalSpeed } from '@vptq/runtime/bench';

import { load } from '../../load';
import { registerBenchGatherProbe } from './bench-gather-probe';
import { registerBenchGpu } from './bench-gpu';
import { registerBenchQuality } from './bench-quality';
import { registerBenchQuantize } from './bench-quantize';
import { registerBenchQuantizeLayer } from './bench-quantize-layer';
import { registerBenchSyntheticModel } from './bench-synthetic-model';
import { printTable } from '../print-table';
import { readTextFile } from '../read-text-file';
import { integerOption } from '../parse-options';

interface BenchEvalFlags {
  model: string;
  tokenizer?: string;
  text: string;
  maxStories: number;
  json?: boolean;
}

/** `vptq bench …`: benchmarks that print their baseline, measured in the same run, beside each figure. */
export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks, each with its baseline measured in the same run');
  registerBenchQuality(bench);
  registerBenchQuantize(bench);
  registerBenchQuantizeLayer(bench);
  registerBenchSyntheticModel(bench);
  registerBenchGpu(bench);
  registerBenchGatherProbe(bench);
  bench
    .command('eval')
    .description('CPU evaluation speed (tokens/s): batched prefill windows vs a one-token-at-a-time loop')
    .requiredOption('-m, --model <path>', 'model')
    .option('-t, --tokenizer <path>', 'tokenizer')
    .requiredOption('--text <file>', 'evaluation text')
    .option('--max-stories <n>', 'stories evaluated by both runs', integerOption('--max-stories', 1), 100)
    .option('--json', 'print JSON')
    .action((flags: BenchEvalFlags) => {
      const { model, tokenizer } = load(flags.model, { tokenizer: flags.tokenizer });
      const text = readTextFile('--text', flags.text);
      const result = benchmarkEvalSpeed(model, tokenizer, text, { maxStories: flags.maxStories });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      printTable(
        ['mode', 'tokens', 'seconds', 'tokens/s', 'perplexity', 'ratio'],
        [
          ['one token at a time (baseline)', result.stepwise.tokens, result.stepwise.seconds.toFixed(2), result.stepwise.tokensPerSecond.toFixed(0), result.stepwise.perplexity.toFixed(4), '1.00'],
          ['batched windows', result.batched.tokens, result.batched.seconds.toFixed(2), result.batched.tokensPerSecond.toFixed(0), result.batched.perplexity.toFixed(4), result.speedup.toFixed(2)],
        ],
      );
    });
}
