import { basename } from 'node:path';
import type { Command } from 'commander';
import { generate, perplexity } from '@vptq/runtime';
import type { PerplexityResult } from '@vptq/runtime';

import { load } from '../load';
import { quantize } from '../quantize/quantize-model';
import { createProgressGroup } from '../progress';
import { recordPerplexity } from '../report/quantization-report';
import { readTextFile } from './read-text-file';
import { checkReportFile, writeReportHtml } from './report';
import { integerOption } from './parse-options';
import { describeQuantization, describeVptq } from '../quantize/describe-vptq';
import { addQuantizeFlags, quantizeSettingsFromFlags } from './quantize-flags';

interface DemoFlags {
  model: string;
  tokenizer?: string;
  calib: string;
  text: string;
  out: string;
  maxStories: number;
  report?: string;
}

/**
 * `vptq demo`: the main job end to end — perplexity of the full-precision model, VPTQ quantization to 2 index
 * bits, perplexity of the quantized model from its packed directory, and a greedy sample from it.
 */
export function registerDemo(program: Command): void {
  const command = program
    .command('demo')
    .description('quantize a model to ~2 bits with VPTQ, report perplexity before and after, and print a sample')
    .requiredOption('-m, --model <path>', 'llama2.c .bin or Hugging Face directory')
    .option('-t, --tokenizer <path>', 'tokenizer (default: found beside the model)')
    .requiredOption('--calib <file>', 'calibration text')
    .requiredOption('--text <file>', 'evaluation text (stories separated by <|endoftext|>)')
    .requiredOption('-o, --out <dir>', 'where the quantized model is written (replaced if present)')
    .option('--max-stories <n>', 'stories of the evaluation text to score', integerOption('--max-stories', 1), 100)
    .option('--report <file>', 'also write the quantization report, with both perplexities, as one self-contained HTML page');
  addQuantizeFlags(command).action(async (flags: DemoFlags & Record<string, unknown>) => {
    const text = readTextFile('--text', flags.text);
    if (flags.report !== undefined) checkReportFile(flags.report);
    const evaluate = (path: string, tokenizer?: string) => {
      const loaded = load(path, { tokenizer });
      const bars = createProgressGroup();
      const result = perplexity(loaded.model, loaded.tokenizer, text, {
        maxStories: flags.maxStories,
        onProgress: (done, total) => bars.update('eval', `perplexity of ${path}`, done, total),
      });
      bars.stop();
      return { loaded, result };
    };
    const say = (line: string) => process.stdout.write(`${line}\n`);

    const before = evaluate(flags.model, flags.tokenizer);
    say(`fp32 ${flags.model}: perplexity ${before.result.perplexity.toFixed(4)} over ${before.result.tokens} tokens (${before.result.stories} stories)`);

    const started = performance.now();
    const bars = createProgressGroup();
    const settings = quantizeSettingsFromFlags(flags);
    const quantized = await quantize({
      model: flags.model,
      tokenizer: flags.tokenizer,
      calibration: flags.calib,
      out: flags.out,
      ...settings,
      overwrite: true,
      onEvent: (event) => {
        if (event.type === 'layer') bars.update('layers', `layer ${event.layer + 1}/${event.layers}`, event.layer, event.layers);
        if (event.type === 'linear') bars.update('linear', `${event.name.replace(/^model\.layers\./, '')} ${event.phase}`, Math.round(event.fraction * 1000), 1000);
      },
    });
    bars.stop();
    say(
      `VPTQ ${describeVptq(settings)} → ${quantized.out}: ${quantized.indexBitsPerWeight.toFixed(3)} index bits/weight, ` +
        `${quantized.totalBitsPerWeight.toFixed(3)} total bits/weight (codebooks included), ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const after = evaluate(quantized.out);
    say(
      `VPTQ ${quantized.out}: perplexity ${after.result.perplexity.toFixed(4)} over ${after.result.tokens} tokens ` +
        `(${(after.result.perplexity / before.result.perplexity).toFixed(3)}× the fp32 perplexity)`,
    );
    // Both perplexities go into the output's report (the full-precision one first: the table compares to it).
    const row = (label: string, model: string, result: PerplexityResult) => ({
      label,
      model,
      text: basename(flags.text),
      perplexity: result.perplexity,
      tokens: result.tokens,
      stories: result.stories,
    });
    recordPerplexity(quantized.out, row('fp32', flags.model, before.result));
    recordPerplexity(quantized.out, row(describeQuantization(settings), flags.out, after.result));
    const sample = generate(after.loaded.model, after.loaded.tokenizer, { prompt: 'Once upon a time', maxTokens: 120 });
    say(`sample (greedy, quantized model):\nOnce upon a time${sample.text}`);
    if (flags.report !== undefined) {
      writeReportHtml(quantized.out, flags.report);
      say(`wrote the report ${flags.report}`);
    }
  });
}
