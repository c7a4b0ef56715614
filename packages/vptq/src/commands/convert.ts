import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { convertLlama2cToHf } from '@vptq/loader/node';

interface ConvertFlags {
  from: string;
  to: string;
  model: string;
  tokenizer: string;
  out: string;
  overwrite?: boolean;
}

function formatOption(name: string, allowed: string) {
  return (value: string): string => {
    if (value !== allowed) throw new InvalidArgumentError(`${name} must be ${allowed} (got ${value})`);
    return value;
  };
}

/** `vptq convert --from llama2c --to hf`: a llama2.c checkpoint and tokenizer as a Hugging Face directory. */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert a llama2.c checkpoint + tokenizer into a Hugging Face Llama directory (q/k rows permuted to rotate-half RoPE)')
    .requiredOption('--from <format>', 'source format: llama2c', formatOption('--from', 'llama2c'))
    .requiredOption('--to <format>', 'target format: hf', formatOption('--to', 'hf'))
    .requiredOption('-m, --model <file>', 'llama2.c .bin checkpoint')
    .requiredOption('-t, --tokenizer <file>', 'llama2.c tokenizer .bin')
    .requiredOption('-o, --out <dir>', 'output directory (written under a temporary name, then renamed)')
    .option('--overwrite', 'replace an existing non-empty output directory')
    .action((flags: ConvertFlags) => {
      convertLlama2cToHf(flags.model, flags.tokenizer, flags.out, { overwrite: flags.overwrite === true });
      process.stdout.write(`wrote ${flags.out}\n`);
    });
}
