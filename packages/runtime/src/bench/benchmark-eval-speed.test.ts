import { describe, expect, it } from 'vitest';

import { benchmarkEvalSpeed } from './benchmark-eval-speed';
import { createCpuModel } from '../create-cpu-model';
import type { LanguageModel } from '../language-model';
import { loadWeights } from '../load-weights';
import { perplexity } from '../perplexity';
import { createCharTokenizer, createSyntheticSource } from '../test/synthetic-model';

const tokenizer = createCharTokenizer();
const text = ['the cat sat on the mat.', 'a dog ran.', 'then it was night, and all slept.', 'end.'].join('\n<|endoftext|>\n');

describe('benchmarkEvalSpeed', () => {
  it('times batched and token-by-token evaluation of the same stories, which agree on perplexity', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 1)));
    const result = benchmarkEvalSpeed(model, tokenizer, text, { maxStories: 3, windowLength: 16 });
    const expected = perplexity(model, tokenizer, text, { maxStories: 3, windowLength: 16 });
    for (const run of [result.batched, result.stepwise]) {
      expect(run.tokens).toBe(expected.tokens);
      expect(run.perplexity).toBeCloseTo(expected.perplexity, 6);
      expect(run.seconds).toBeGreaterThan(0);
      expect(run.tokensPerSecond).toBeCloseTo(run.tokens / run.seconds, 6);
    }
    expect(result.speedup).toBeCloseTo(result.batched.tokensPerSecond / result.stepwise.tokensPerSecond, 9);
  });

  it('issues one forward pass per window batched and one per token stepwise', () => {
    const model = createCpuModel(loadWeights(createSyntheticSource({}, 2)));
    const windows: number[] = [];
    const counting: LanguageModel = {
      config: model.config,
      contextLength: model.contextLength,
      forward: (tokens, start, options) => {
        windows.push(tokens.length);
        return model.forward(tokens, start, options);
      },
      reset: () => model.reset(),
    };
    benchmarkEvalSpeed(counting, tokenizer, 'abcdefgh<|endoftext|>xyz', { windowLength: 5 });
    // Warm-up on the first story (BOS + 8 letters: windows of 5 and 3 positions, then 8 single steps), then
    // the timed runs over both stories (BOS + "xy" feed "z"'s prediction: one window of 3, then 3 steps).
    expect(windows).toEqual([5, 3, ...new Array(8).fill(1), 5, 3, 3, ...new Array(11).fill(1)]);
  });
});
