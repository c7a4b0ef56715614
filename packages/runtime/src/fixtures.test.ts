import { readFileSync } from 'node:fs';

import { loadLlama2cTokenizer, openLlama2c } from '@vptq/loader/node';
import { fixturePath } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import { generate } from './generate';
import { loadWeights } from './load-weights';
import { perplexity } from './perplexity';

const stories260K = ['karpathy-tinyllamas-stories260K', 'stories260K.bin'] as const;
const tok512 = ['karpathy-tinyllamas-stories260K', 'tok512.bin'] as const;

function open(model: readonly [string, string], tokenizer: readonly [string, string]) {
  const source = openLlama2c(fixturePath(...model));
  try {
    const weights = loadWeights(source);
    return {
      model: createCpuModel(weights),
      tokenizer: loadLlama2cTokenizer(fixturePath(...tokenizer), { vocabSize: source.config.vocabSize }),
    };
  } finally {
    source.close();
  }
}

describe('real llama2.c models (fixtures)', () => {
  const sample = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8');

  // Reference perplexities from fixtures/README.md, measured independently; 0.3 % tolerance.
  const cases = [
    { name: 'stories260K + tok512', model: stories260K, tokenizer: tok512, expected: 3.548, tokens: 1804 },
    { name: 'saltyduckegg + tok512 (window 256)', model: ['saltyduckegg-llama2xs-model', 'model.bin'] as const, tokenizer: tok512, expected: 7.176, tokens: 1804 },
    {
      name: 'BabyLlama + tok105',
      model: ['en10-babyllama-tok105', 'model5000.bin'] as const,
      tokenizer: ['en10-babyllama-tok105', 'tok105.bin'] as const,
      expected: 2.13,
      tokens: 3714,
    },
  ];
  for (const { name, model: modelPath, tokenizer: tokenizerPath, expected, tokens } of cases) {
    it(`reproduces the cs336-sample perplexity of ${name}`, () => {
      const { model, tokenizer } = open(modelPath, tokenizerPath);
      const result = perplexity(model, tokenizer, sample);
      expect(result.tokens).toBe(tokens);
      expect(result.stories).toBe(5);
      expect(Math.abs(result.perplexity / expected - 1)).toBeLessThan(0.003);
    });
  }

  it('reproduces llama2.c greedy-256 for stories260K character for character', () => {
    const { model, tokenizer } = open(stories260K, tok512);
    const expected = readFileSync(fixturePath('karpathy-tinyllamas-stories260K', 'greedy-256.txt'), 'utf8');
    let printed = '';
    // `./run stories260K.bin -z tok512.bin -t 0.0` runs 256 positions from BOS and prints a final newline.
    const result = generate(model, tokenizer, { maxTokens: 256, onToken: (_token, piece) => (printed += piece) });
    expect(result.stopReason).toBe('length');
    expect(printed + '\n').toBe(expected);
    expect(result.text).toBe(printed);
  });
});
