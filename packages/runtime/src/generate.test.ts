import { describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import type { CpuLlamaModel } from './create-cpu-model';
import { generate } from './generate';
import type { LanguageModel, SyncLanguageModel } from './language-model';
import { loadWeights } from './load-weights';
import { createCharTokenizer, createSyntheticSource } from './test/synthetic-model';

const tokenizer = createCharTokenizer();

function model(seed = 1, contextLength?: number): CpuLlamaModel {
  return createCpuModel(loadWeights(createSyntheticSource({}, seed)), { contextLength });
}

/** Greedy decoding spelled out with step(): argmax, lowest id on ties, feed it back. */
function greedyByHand(cpu: CpuLlamaModel, prompt: number[], count: number): number[] {
  cpu.reset();
  let logits: Float32Array = new Float32Array(0);
  prompt.forEach((token, position) => (logits = cpu.step(token, position)));
  const out: number[] = [];
  for (let position = prompt.length; out.length < count; position++) {
    let best = 0;
    for (let id = 1; id < logits.length; id++) if (logits[id] > logits[best]) best = id;
    out.push(best);
    logits = cpu.step(best, position);
  }
  return out;
}

describe('generate', () => {
  it('decodes greedily after prefilling the prompt, stopping at maxTokens', () => {
    const stopTokens: number[] = [];
    const result = generate(model(3), tokenizer, { prompt: 'the ', maxTokens: 10, stopTokens });
    expect(result.promptTokens).toEqual([1, ...tokenizer.encode('the ')]);
    expect(result.tokens).toEqual(greedyByHand(model(3), result.promptTokens, 10));
    expect(result.stopReason).toBe('length');
    expect(result.text).toBe(tokenizer.decode(result.tokens));
  });

  it('streams each token and its printed piece to onToken', () => {
    const seen: Array<[number, string]> = [];
    const result = generate(model(3), tokenizer, { maxTokens: 6, stopTokens: [], onToken: (token, piece) => seen.push([token, piece]) });
    expect(seen.map(([token]) => token)).toEqual(result.tokens);
    expect(seen.map(([, piece]) => piece).join('')).toBe(result.text);
  });

  it('stops before emitting a stop token', () => {
    const free = generate(model(3), tokenizer, { maxTokens: 12, stopTokens: [] });
    const stopAt = free.tokens[4];
    const stopped = generate(model(3), tokenizer, { maxTokens: 12, stopTokens: [stopAt] });
    expect(stopped.stopReason).toBe('stop');
    expect(stopped.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopAt)));
  });

  it('stops when the context is full', () => {
    const result = generate(model(3, 8), tokenizer, { prompt: 'ab', stopTokens: [] });
    expect(result.stopReason).toBe('context');
    expect(result.promptTokens.length + result.tokens.length).toBe(9); // the last token needs no position
  });

  it('samples reproducibly for a seed, and differently for another', () => {
    const options = { maxTokens: 20, temperature: 1.5, topP: 0.95, stopTokens: [] };
    const first = generate(model(4), tokenizer, { ...options, seed: 11 });
    expect(generate(model(4), tokenizer, { ...options, seed: 11 }).tokens).toEqual(first.tokens);
    expect(generate(model(4), tokenizer, { ...options, seed: 12 }).tokens).not.toEqual(first.tokens);
  });

  it('returns a Promise with the same result for a model whose forward is asynchronous', async () => {
    const cpu = model(5);
    const asyncModel: LanguageModel = {
      config: cpu.config,
      contextLength: cpu.contextLength,
      forward: (tokens, start, options) => Promise.resolve(cpu.forward(tokens, start, options)),
      reset: () => cpu.reset(),
    };
    const options = { prompt: 'a', maxTokens: 8, temperature: 0.7, stopTokens: [] };
    const pending = generate(asyncModel, tokenizer, options);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(generate(model(5), tokenizer, options));
  });

  it('decodes the continuation as a whole, so byte tokens join into characters', () => {
    // Ids 3 and 4 are the two UTF-8 bytes of "é"; alone each prints U+FFFD, as llama2.c byte pieces do.
    const bytes = new Map([[3, 0xc3], [4, 0xa9], [5, 0x21]]);
    const byteTokenizer = {
      ...tokenizer,
      vocabSize: 6,
      encode: (): number[] => [1],
      decode: (ids: readonly number[]): string =>
        new TextDecoder().decode(new Uint8Array(ids.filter((id) => bytes.has(id)).map((id) => bytes.get(id) as number))),
      decodeToken: (_previous: number, token: number): string => (token === 5 ? '!' : '\uFFFD'),
    };
    const script = [3, 4, 5, 2];
    const scripted: SyncLanguageModel = {
      config: { ...model().config, vocabSize: 6 },
      contextLength: 16,
      forward: (tokens, start) => {
        const logits = new Float32Array(6).fill(-1);
        logits[script[start + tokens.length - 1]] = 1;
        return logits;
      },
      reset() {},
    };
    const pieces: string[] = [];
    const result = generate(scripted, byteTokenizer, { onToken: (_token, piece) => pieces.push(piece) });
    expect(result).toMatchObject({ tokens: [3, 4, 5], text: 'é!', stopReason: 'stop' });
    expect(pieces.join('')).toBe('\uFFFD\uFFFD!');
  });

  it('rejects bad options and a prompt longer than the context', () => {
    expect(() => generate(model(), tokenizer, { temperature: -0.1 })).toThrow(/temperature must be a finite number ≥ 0 \(got -0.1\)/);
    expect(() => generate(model(), tokenizer, { topP: 1.5 })).toThrow(/topP must be in \(0, 1\] \(got 1.5\)/);
    expect(() => generate(model(), tokenizer, { maxTokens: 2.5 })).toThrow(/maxTokens must be a non-negative integer/);
    expect(() => generate(model(1, 4), tokenizer, { prompt: 'abcd' })).toThrow(/prompt must fit the context \(got 5 tokens, contextLength 4\)/);
  });
});
