import { fixturePath } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { buildLlama2cTokenizerJson } from './llama2c-tokenizer-json';
import { readLlama2cVocab } from './read-llama2c-vocab';

function vocab(pieces: string[], scores: number[]) {
  return { path: 'memory', maxTokenLength: 16, pieces, scores: Float32Array.from(scores) };
}

describe('buildLlama2cTokenizerJson', () => {
  it('turns every split of a piece into a merge ranked by the piece score', () => {
    const files = buildLlama2cTokenizerJson(
      vocab(['<unk>', '\n<s>\n', '\n</s>\n', ' ', 'a', 'b', 'ab', ' a', ' ab', 'abb'], [0, 0, 0, -1, -2, -3, -4, -5, -6, -7]),
    );
    if (typeof files === 'string') throw new Error(files);
    const model = files.tokenizerJson.model as { merges: string[][]; vocab: Record<string, number>; byte_fallback: boolean };
    // "▁ab" splits as ▁+ab and ▁a+b with one score: two merges of equal rank order, so not provably exact.
    expect(model.merges).toEqual([
      ['a', 'b'],
      ['▁', 'a'],
      ['▁', 'ab'],
      ['▁a', 'b'],
      ['ab', 'b'],
    ]);
    expect(files.exact).toBe(false);
    expect(model.vocab['▁ab']).toBe(8);
    expect(model.vocab['<s>']).toBe(1);
    expect(model.byte_fallback).toBe(false);
  });

  it('marks vocabularies with distinct merge scores as exact', () => {
    const files = buildLlama2cTokenizerJson(vocab(['<unk>', 's', 'e', 'a', 'b', 'ab'], [0, 0, 0, -1, -2, -3]));
    expect(typeof files !== 'string' && files.exact).toBe(true);
    const tok105 = buildLlama2cTokenizerJson(readLlama2cVocab('test', fixturePath('en10-babyllama-tok105', 'tok105.bin'), undefined));
    expect(typeof tok105 !== 'string' && tok105.exact).toBe(true);
  });

  it('enables byte fallback only when all 256 byte pieces exist', () => {
    const tok512 = buildLlama2cTokenizerJson(
      readLlama2cVocab('test', fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'), undefined),
    );
    if (typeof tok512 === 'string') throw new Error(tok512);
    expect((tok512.tokenizerJson.model as { byte_fallback: boolean }).byte_fallback).toBe(true);
  });

  it('explains why a vocabulary cannot be written as tokenizer.json', () => {
    expect(buildLlama2cTokenizerJson(vocab(['<unk>', 's', 'e', 'a', 'a'], [0, 0, 0, -1, -2]))).toBe('pieces 3 and 4 are both "a"');
    expect(buildLlama2cTokenizerJson(vocab(['<unk>', 's', 'e', '▁x'], [0, 0, 0, -1]))).toBe('piece 3 already contains "▁"');
    expect(buildLlama2cTokenizerJson(vocab(['<unk>', 's', 'e', '<s>'], [0, 0, 0, -1]))).toBe('pieces 1 and 3 are both "<s>"');
  });
});
