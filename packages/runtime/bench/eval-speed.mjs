// CPU evaluation speed of @vptq/runtime: batched prefill vs a one-token-at-a-time loop, same stories, same run.
// Usage (after `pnpm exec turbo run build --filter=@vptq/runtime...`):
//   node packages/runtime/bench/eval-speed.mjs [--stories 100] [--model FILE] [--tokenizer FILE] [--text FILE] [--window N]
// Defaults: stories260K + tok512 on tinystories-valid-head1000/valid-dev-000-499.txt (development text).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadLlama2cTokenizer, openLlama2c } from '@vptq/loader';
import { benchmarkEvalSpeed, createCpuModel, loadWeights } from '@vptq/runtime';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = process.env.VPTQ_SHARED
  ? join(resolve(process.env.VPTQ_SHARED), 'fixtures')
  : resolve(here, '..', '..', '..', '..', 'shared', 'fixtures');

const { values } = parseArgs({
  options: {
    stories: { type: 'string', default: '100' },
    model: { type: 'string', default: join(fixtures, 'karpathy-tinyllamas-stories260K', 'stories260K.bin') },
    tokenizer: { type: 'string', default: join(fixtures, 'karpathy-tinyllamas-stories260K', 'tok512.bin') },
    text: { type: 'string', default: join(fixtures, 'tinystories-valid-head1000', 'valid-dev-000-499.txt') },
    window: { type: 'string' },
  },
});
if (/heldout|wiki\.test/.test(values.text)) {
  throw new Error(`eval-speed: ${values.text} is held-out text; benchmark on valid-dev-000-499.txt instead`);
}

const source = openLlama2c(values.model);
const model = createCpuModel(loadWeights(source));
source.close();
const tokenizer = loadLlama2cTokenizer(values.tokenizer, { vocabSize: model.config.vocabSize });
const text = readFileSync(values.text, 'utf8');

const result = benchmarkEvalSpeed(model, tokenizer, text, {
  maxStories: Number(values.stories),
  windowLength: values.window === undefined ? undefined : Number(values.window),
});
const row = (name, run) =>
  `${name.padEnd(22)} ${String(run.tokens).padStart(8)} ${run.seconds.toFixed(2).padStart(9)} ${run.tokensPerSecond.toFixed(0).padStart(10)} ${run.perplexity.toFixed(4).padStart(11)}`;
console.log(`model ${values.model}\ntext ${values.text} (first ${values.stories} stories), node ${process.version}`);
console.log(`${'mode'.padEnd(22)} ${'tokens'.padStart(8)} ${'seconds'.padStart(9)} ${'tokens/s'.padStart(10)} ${'perplexity'.padStart(11)}`);
console.log(row('batched (per window)', result.batched));
console.log(row('stepwise (per token)', result.stepwise));
console.log(`speedup ${result.speedup.toFixed(2)}×`);
