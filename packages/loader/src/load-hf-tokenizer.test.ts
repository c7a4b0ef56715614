import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createTestRng, fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { buildLlama2cTokenizerJson } from './llama2c-tokenizer-json';
import { loadHfTokenizer } from './load-hf-tokenizer';
import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
import { expectLoaderError } from './test/expect-loader-error';
import { readLlama2cVocab } from './read-llama2c-vocab';

const tok512 = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const tok105 = fixturePath('en10-babyllama-tok105', 'tok105.bin');
const root = makeTempDir('vptq-loader-hftok-');
let counter = 0;

function writeTokenizerDir(
  llama2cPath: string,
  edit: (files: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> }) => void = () => {},
): string {
  const files = buildLlama2cTokenizerJson(readLlama2cVocab('test', llama2cPath, undefined));
  if (typeof files === 'string') throw new Error(files);
  const copy = structuredClone({ tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig });
  edit(copy);
  const dir = join(root, `tokenizer-${counter++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(copy.tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(copy.tokenizerConfig));
  return dir;
}

function expectTokenizerError(dir: string, expected: Record<string, unknown>, message: RegExp): void {
  expectLoaderError(() => loadHfTokenizer(dir), expected, message);
}

const devStories = readFileSync(fixturePath('tinystories-valid-head1000', 'valid-dev-000-499.txt'), 'utf8')
  .split('<|endoftext|>')
  .map((story) => story.trim());

describe('loadHfTokenizer on a tokenizer.json built from a llama2.c vocabulary', () => {
  const reference = loadLlama2cTokenizer(tok512);
  const tokenizer = loadHfTokenizer(writeTokenizerDir(tok512));

  it('encodes all 500 development stories to the llama2.c ids', () => {
    let mismatches = 0;
    for (const story of devStories) {
      const expected = reference.encode(story, { bos: true });
      const actual = tokenizer.encode(story, { bos: true });
      if (actual.length !== expected.length || actual.some((id, i) => id !== expected[i])) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('encodes seeded random text (newlines, emoji, CJK, leading spaces) to the llama2.c ids', () => {
    const alphabet = [...'abehlnorst  ,.!\nLO', 'é', '—', '😀', '中', '\t'];
    for (let seed = 1; seed <= 40; seed++) {
      const next = createTestRng(seed);
      let text = '';
      for (let i = 0; i < 80; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      expect(tokenizer.encode(text, { bos: true, eos: true }), `seed ${seed}`).toEqual(
        reference.encode(text, { bos: true, eos: true }),
      );
    }
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('decodes whole sequences and single tokens like the llama2.c tokenizer after BOS', () => {
    const text = 'Ünïcödé — 😀 and\nnewlines';
    const ids = reference.encode(text, { bos: true, eos: true });
    expect(tokenizer.decode(ids)).toBe(text);
    const [, first, second] = ids;
    expect(tokenizer.decodeToken(1, first)).toBe(reference.decodeToken(1, first));
    expect(tokenizer.decodeToken(first, second)).toBe(reference.decodeToken(first, second));
    expect(tokenizer.decodeToken(5, 13)).toBe('\n');
    expect(tokenizer.decodeToken(5, 2)).toBe('');
    expect(tokenizer.decode([])).toBe('');
    expect(() => tokenizer.decode([1, 512])).toThrow(/decode: ids\[1\] must be an integer token id below 512 \(got 512\)/);
  });

  it('maps unknown characters to <unk> without byte fallback (tok105)', () => {
    const baby = loadHfTokenizer(writeTokenizerDir(tok105));
    expect(baby.vocabSize).toBe(105);
    expect(baby.encode('a\nb\n\n', { bos: true })).toEqual([1, 3, 5, 0, 23, 0, 0]);
    expect(baby.decode([1, 3, 5, 0, 23])).toBe('a<unk>b');
  });

  it('uses EOS as BOS when the tokenizer has no BOS (Qwen2 style)', () => {
    const dir = writeTokenizerDir(tok512, (files) => {
      files.tokenizerConfig.bos_token = null;
    });
    const qwenLike = loadHfTokenizer(dir);
    expect([qwenLike.bosId, qwenLike.eosId]).toEqual([2, 2]);
    expect(qwenLike.encode('Lily', { bos: true })[0]).toBe(2);
  });

  it('reads BOS/EOS ids from config.json when tokenizer_config.json has none', () => {
    const dir = writeTokenizerDir(tok512, (files) => {
      delete files.tokenizerConfig.bos_token;
      delete files.tokenizerConfig.eos_token;
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: [2, 0] }));
    expect([loadHfTokenizer(dir).bosId, loadHfTokenizer(dir).eosId]).toEqual([1, 2]);
  });
});

describe('loadHfTokenizer on malformed directories', () => {
  it('rejects a missing or non-JSON tokenizer.json', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    expectTokenizerError(dir, { code: 'VPTQ_LOADER_NOT_FOUND', path: join(dir, 'tokenizer.json') }, /does not exist/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    expectTokenizerError(dir, { code: 'VPTQ_LOADER_BAD_TOKENIZER', path: join(dir, 'tokenizer.json') }, /is not valid JSON/);
    writeFileSync(join(dir, 'tokenizer.json'), '[1, 2]');
    expectTokenizerError(dir, { code: 'VPTQ_LOADER_BAD_TOKENIZER' }, /must hold a JSON object/);
  });

  it('rejects a tokenizer the library cannot build', () => {
    const dir = writeTokenizerDir(tok512, (files) => {
      files.tokenizerJson.model = { type: 'NoSuchModel' };
    });
    expectTokenizerError(dir, { code: 'VPTQ_LOADER_BAD_TOKENIZER' }, /cannot build this tokenizer/);
  });

  it('rejects an EOS token that is not in the vocabulary, and a tokenizer without EOS', () => {
    const unknownEos = writeTokenizerDir(tok512, (files) => {
      files.tokenizerConfig.eos_token = { content: '<|end|>' };
    });
    expectTokenizerError(unknownEos, { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'eos_token' }, /eos_token "<\|end\|>" is not in the vocabulary/);
    const noEos = writeTokenizerDir(tok512, (files) => {
      delete files.tokenizerConfig.eos_token;
    });
    expectTokenizerError(noEos, { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'eos_token' }, /no EOS token/);
  });
});
