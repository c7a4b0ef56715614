import type { Command } from 'commander';

import { integerOption } from '../parse-options';
import { llama2_7bShape, writeSyntheticModel } from './synthetic-model';

interface SyntheticModelFlags {
  tokenizerFrom: string;
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  vocab: number;
  seed: number;
}

/** `vptq bench synthetic-model <dir>`: writes the LLaMA-2-7B-shaped model the whole-model quantization benchmark reads. */
export function registerBenchSyntheticModel(bench: Command): void {
  bench
    .command('synthetic-model <dir>')
    .description('write a Hugging Face Llama directory of seeded random bf16 weights, sharded (default: LLaMA-2-7B shape, 13.5 GB)')
    .requiredOption('--tokenizer-from <dir>', 'Hugging Face directory whose tokenizer files to copy (e.g. `vptq convert` of stories260K)')
    .option('--layers <n>', 'decoder layers', integerOption('--layers', 1), llama2_7bShape.layers)
    .option('--hidden <n>', 'hidden size', integerOption('--hidden', 2), llama2_7bShape.hidden)
    .option('--intermediate <n>', 'MLP width', integerOption('--intermediate', 1), llama2_7bShape.intermediate)
    .option('--heads <n>', 'attention heads (= KV heads)', integerOption('--heads', 1), llama2_7bShape.heads)
    .option('--vocab <n>', 'vocabulary', integerOption('--vocab', 1), llama2_7bShape.vocab)
    .option('--seed <s>', 'seed', integerOption('--seed', 0, 0xffffffff), 0)
    .action((dir: string, flags: SyntheticModelFlags) => {
      if (flags.hidden % flags.heads !== 0 || (flags.hidden / flags.heads) % 2 !== 0) {
        throw new Error(`--hidden (${flags.hidden}) must be --heads (${flags.heads}) times an even head width`);
      }
      const started = performance.now();
      const bytes = writeSyntheticModel(
        dir,
        { layers: flags.layers, hidden: flags.hidden, intermediate: flags.intermediate, heads: flags.heads, vocab: flags.vocab, contextLength: llama2_7bShape.contextLength },
        flags.tokenizerFrom,
        flags.seed,
      );
      process.stdout.write(`wrote ${dir}: ${(bytes / 1e9).toFixed(2)} GB of bf16 safetensors in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
