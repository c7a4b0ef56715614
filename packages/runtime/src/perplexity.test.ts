import { describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import type { CpuLlamaModel } from './create-cpu-model';
import type { LanguageModel } from './language-model';
import { loadWeights } from './load-weights';
import { perplexity } from './perplexity';
import { LlamaRuntimeError } from './runtime-error';
import { createCharTokenizer, createSyntheticSource } from './test/synthetic-model';

const text = 'the cat sat.\n<|endoftext|>\n  a dog ran, then sat down.  \n<|endoftext|>\n\n<|endoftext|>\nhi\n';
const tokenizer = createCharTokenizer();

function model(seed = 1, contextLength?: number): CpuLlamaModel {
  return createCpuModel(loadWeights(createSyntheticSource({}, seed)), { contextLength });
}

/** The protocol spelled out token by token: a fresh cache every `window` positions of each story. */
function expectedNll(cpu: CpuLlamaModel, stories: string[], window: number): { total: number; tokens: number } {
  let total = 0;
  let tokens = 0;
  for (const story of stories) {
    const ids = tokenizer.encode(story, { bos: true });
    for (let position = 0; position < ids.length - 1; position++) {
      if (position % window === 0) cpu.reset();
      const logits = cpu.step(ids[position], position % window);
      const max = Math.max(...logits);
      const logSum = max + Math.log(logits.reduce((sum, value) => sum + Math.exp(value - max), 0));
      total += logSum - logits[ids[position + 1]];
      tokens++;
    }
  }
  return { total, tokens };
}

describe('perplexity', () => {
  const stories = ['the cat sat.', 'a dog ran, then sat down.', 'hi'];

  it('scores every token after each story BOS with one window per story by default', () => {
    const result = perplexity(model(), tokenizer, text);
    const { total, tokens } = expectedNll(model(), stories, 32);
    expect(result.tokens).toBe(tokens);
    expect(result.tokens).toBe(stories.join('').length);
    expect(result.stories).toBe(3);
    expect(result.nll).toBeCloseTo(total / tokens, 5);
    expect(result.perplexity).toBeCloseTo(Math.exp(total / tokens), 4);
    expect(result.bytes).toBe(stories.join('').length);
    expect(result.bitsPerByte).toBeCloseTo(total / Math.LN2 / result.bytes, 5);
  });

  it('restarts the KV cache every windowLength tokens', () => {
    const short = perplexity(model(), tokenizer, text, { windowLength: 5 });
    const { total } = expectedNll(model(), stories, 5);
    expect(short.nll).toBeCloseTo(total / short.tokens, 5);
    expect(Math.abs(short.nll - perplexity(model(), tokenizer, text).nll)).toBeGreaterThan(1e-4);
  });

  it('counts UTF-8 bytes of the stories for bits per byte', () => {
    const result = perplexity(model(), tokenizer, 'café ☕ 𝄞');
    expect(result.bytes).toBe(Buffer.byteLength('café ☕ 𝄞', 'utf8'));
  });

  it('reports progress after every window and honours maxStories', () => {
    const calls: Array<[number, number]> = [];
    const result = perplexity(model(), tokenizer, text, { windowLength: 8, maxStories: 2, onProgress: (done, all) => calls.push([done, all]) });
    expect(result.stories).toBe(2);
    expect(result.tokens).toBe(12 + 25);
    expect(calls.map(([done]) => done)).toEqual([8, 12, 20, 28, 36, 37]);
    expect(calls.every(([, all]) => all === 37)).toBe(true);
  });

  it('returns a Promise with the same result for a model whose forward is asynchronous', async () => {
    const cpu = model(2);
    const asyncModel: LanguageModel = {
      config: cpu.config,
      contextLength: cpu.contextLength,
      forward: async (tokens, start, options) => cpu.forward(tokens, start, options),
      reset: () => cpu.reset(),
    };
    const pending = perplexity(asyncModel, tokenizer, text, { windowLength: 6 });
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(perplexity(model(2), tokenizer, text, { windowLength: 6 }));
  });

  it('fails with VPTQ_RUNTIME_VOCAB_MISMATCH when the tokenizer outgrows the model', () => {
    const wide = createCharTokenizer('abcdefghijklmnopqrstuvwxyz0123456789 ');
    expect(() => perplexity(model(), wide, 'abc 9')).toThrow(LlamaRuntimeError);
    expect(() => perplexity(model(), wide, 'abc 9')).toThrow(/produced id 39 in story 0, outside the model's vocabulary of 37/);
  });

  it('fails with VPTQ_RUNTIME_NOT_FINITE when the logits are not finite', () => {
    const cpu = model();
    const broken: LanguageModel = { ...cpu, forward: (tokens) => new Float32Array(tokens.length * 37).fill(Number.NaN), reset() {} };
    expect(() => perplexity(broken, tokenizer, 'abc')).toThrow(expect.objectContaining({ code: 'VPTQ_RUNTIME_NOT_FINITE' }));
  });

  it('rejects an empty corpus and a window longer than the model context', () => {
    expect(() => perplexity(model(), tokenizer, ' <|endoftext|> ')).toThrow(/at least one non-empty story/);
    expect(() => perplexity(model(1, 16), tokenizer, text, { windowLength: 17 })).toThrow(
      /windowLength must be an integer between 1 and the model's contextLength 16 \(got 17\)/,
    );
  });
});
