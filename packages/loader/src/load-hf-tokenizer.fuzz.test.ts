import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createTestRng, fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { buildLlama2cTokenizerJson } from './llama2c-tokenizer-json';
import { loadHfTokenizer } from './load-hf-tokenizer';
import { fuzzOutcome } from './test/expect-loader-error';
import { readLlama2cVocab } from './read-llama2c-vocab';

const strangeValues: unknown[] = [null, 0, -1, 7, 'x', '<s>', true, [], {}, [['a', 'b']], { type: 'BPE' }];
const paths: string[][] = [
  ['model'],
  ['model', 'type'],
  ['model', 'vocab'],
  ['model', 'merges'],
  ['model', 'unk_token'],
  ['model', 'byte_fallback'],
  ['normalizer'],
  ['normalizer', 'normalizers'],
  ['decoder'],
  ['decoder', 'decoders'],
  ['added_tokens'],
  ['post_processor'],
  ['pre_tokenizer'],
];

describe('loadHfTokenizer fuzz', () => {
  it('turns 300 seeded mutations of tokenizer.json/tokenizer_config.json into success or a LoaderError', () => {
    const files = buildLlama2cTokenizerJson(
      readLlama2cVocab('test', fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'), undefined),
    );
    if (typeof files === 'string') throw new Error(files);
    const tokenizerText = JSON.stringify(files.tokenizerJson);
    const dir = join(makeTempDir('vptq-loader-hftokfuzz-'), 'tokenizer');
    mkdirSync(dir);
    let failures = 0;
    for (let seed = 0; seed < 300; seed++) {
      const next = createTestRng(seed);
      const pick = (count: number): number => Math.floor(next() * count);
      const tokenizerJson = structuredClone(files.tokenizerJson) as Record<string, unknown>;
      const tokenizerConfig = structuredClone(files.tokenizerConfig) as Record<string, unknown>;
      let text: string | undefined;
      const kind = seed % 3;
      if (kind === 0) {
        text = tokenizerText.slice(0, pick(tokenizerText.length));
      } else if (kind === 1) {
        const path = paths[pick(paths.length)];
        let target = tokenizerJson as Record<string, unknown>;
        for (const key of path.slice(0, -1)) target = (target[key] ?? {}) as Record<string, unknown>;
        const last = path[path.length - 1];
        if (next() < 0.3) delete target[last];
        else target[last] = strangeValues[pick(strangeValues.length)];
      } else {
        const key = ['bos_token', 'eos_token', 'unk_token', 'clean_up_tokenization_spaces'][pick(4)];
        tokenizerConfig[key] = strangeValues[pick(strangeValues.length)];
      }
      writeFileSync(join(dir, 'tokenizer.json'), text ?? JSON.stringify(tokenizerJson));
      writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
      const outcome = fuzzOutcome(`seed ${seed}`, dir, () => {
        const tokenizer = loadHfTokenizer(dir);
        const ids = tokenizer.encode('Once upon a time,\nLily said "é😀".', { bos: true, eos: true });
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
        expect(typeof tokenizer.decode(ids)).toBe('string');
        expect(typeof tokenizer.decodeToken(ids[0], ids[1])).toBe('string');
      });
      if (outcome !== 'ok') failures++;
    }
    expect(failures).toBeGreaterThan(100);
  });
});
