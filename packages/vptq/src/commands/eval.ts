import { basename } from 'node:path';
import type { Command } from 'commander';
import { perplexity } from '@vptq/runtime';

import { createProgress } from '../progress';
import { readQuantizationReport, recordPerplexity } from '../report/quantization-report';
import { readTextFile } from './read-text-file';
import { deviceOption, integerOption } from './parse-options';
import { withModel } from './with-model';

interface EvalFlags {
  model: string;
  tokenizer?: string;
  text: string;
  json?: boolean;
  window?: number;
  maxStories?: number;
  device: 'cpu' | 'gpu';
  recordIn?: string;
}

/** `vptq eval`: perplexity of a model on a text file, with the fixtures' per-story protocol. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('perplexity per token on a text (stories split on <|endoftext|>, one BOS each, KV cache restarted every window)')
    .requiredOption('-m, --model <path>', 'llama2.c .bin, Hugging Face directory or VPTQ directory')
    .option('-t, --tokenizer <path>', 'tokenizer file or directory (default: found beside the model)')
    .requiredOption('--text <file>', 'UTF-8 text, stories separated by <|endoftext|>')
    .option('--window <tokens>', 'KV-cache window (default: the model context length)', integerOption('--window', 2))
    .option('--max-stories <n>', 'evaluate only the first n stories', integerOption('--max-stories', 1))
    .option('--device <cpu|gpu>', 'run on the CPU, or on the GPU through WebGPU (Dawn)', deviceOption, 'cpu')
    .option('--record-in <dir>', "add the result to the quantization report of DIR (an output of vptq quantize), labelled with --model as given")
    .option('--json', 'print one JSON object instead of text')
    .action(async (flags: EvalFlags) => {
      const text = readTextFile('--text', flags.text);
      // A directory without a report fails here, before the evaluation.
      if (flags.recordIn !== undefined) readQuantizationReport(flags.recordIn);
      const started = performance.now();
      const progress = createProgress('evaluating', 1, { unit: 'tokens' });
      const result = await withModel(flags, async (loaded) => {
        try {
          return await perplexity(loaded.model, loaded.tokenizer, text, {
            windowLength: flags.window,
            maxStories: flags.maxStories,
            onProgress: (done, total) => progress.update(done, total),
          });
        } finally {
          progress.stop();
        }
      });
      const seconds = (performance.now() - started) / 1000;
      const report = { model: flags.model, text: flags.text, device: flags.device, ...result, seconds };
      if (flags.recordIn !== undefined) {
        const { perplexity: value, tokens, stories } = result;
        recordPerplexity(flags.recordIn, { label: flags.model, model: flags.model, text: basename(flags.text), perplexity: value, tokens, stories });
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        process.stdout.write(
          `perplexity ${result.perplexity.toFixed(4)} over ${result.tokens} tokens (${result.stories} stories, ` +
            `nll ${result.nll.toFixed(4)}, ${result.bitsPerByte.toFixed(4)} bits/byte) in ${seconds.toFixed(1)} s on the ${flags.device}\n`,
        );
      }
    });
}
