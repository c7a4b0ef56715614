import type { Command } from 'commander';
import { generate } from '@vptq/runtime';

import { deviceOption, integerOption, numberOption } from './parse-options';
import { withModel } from './with-model';

interface GenerateFlags {
  model: string;
  tokenizer?: string;
  prompt: string;
  maxTokens?: number;
  temperature: number;
  topP: number;
  seed?: number;
  json?: boolean;
  device: 'cpu' | 'gpu';
}

/** `vptq generate`: continue a prompt, greedy or sampled, streaming the text to stdout. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt (greedy at --temperature 0, else temperature/top-p sampling with a seed)')
    .requiredOption('-m, --model <path>', 'llama2.c .bin, Hugging Face directory or VPTQ directory')
    .option('-t, --tokenizer <path>', 'tokenizer file or directory (default: found beside the model)')
    .option('-p, --prompt <text>', 'text to continue (encoded after one BOS)', '')
    .option('-n, --max-tokens <n>', 'most tokens to generate (default: until the context is full)', integerOption('--max-tokens', 1))
    .option('--temperature <t>', 'softmax temperature; 0 is greedy', numberOption('--temperature', 0), 0)
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', numberOption('--top-p', Number.MIN_VALUE, 1), 1)
    .option('--seed <s>', 'sampler seed (default: fixed)', integerOption('--seed', 0, 0xffffffff))
    .option('--device <cpu|gpu>', 'run on the CPU, or on the GPU through WebGPU (Dawn)', deviceOption, 'cpu')
    .option('--json', 'print one JSON object at the end instead of streaming')
    .action(async (flags: GenerateFlags) => {
      let started = 0;
      const result = await withModel(flags, ({ model, tokenizer }) => {
        started = performance.now();
        if (!flags.json) process.stdout.write(flags.prompt);
        return generate(model, tokenizer, {
          prompt: flags.prompt,
          maxTokens: flags.maxTokens,
          temperature: flags.temperature,
          topP: flags.topP,
          seed: flags.seed,
          onToken: flags.json ? undefined : (_token, piece) => process.stdout.write(piece),
        });
      });
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ prompt: flags.prompt, text: result.text, tokens: result.tokens.length, stopReason: result.stopReason, seconds })}\n`,
        );
      } else {
        process.stdout.write('\n');
        process.stderr.write(
          `${result.tokens.length} tokens in ${seconds.toFixed(2)} s (${(result.tokens.length / seconds).toFixed(1)} tokens/s), stop: ${result.stopReason}\n`,
        );
      }
    });
}
