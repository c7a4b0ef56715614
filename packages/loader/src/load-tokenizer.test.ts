import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { buildLlama2cTokenizerJson } from './llama2c-tokenizer-json';
import { loadTokenizer } from './load-tokenizer';
import { readLlama2cVocab } from './read-llama2c-vocab';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';

const tok512 = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const tok105 = fixturePath('en10-babyllama-tok105', 'tok105.bin');
const root = makeTempDir('vptq-loader-loadtok-');

function writeHfTokenizer(dir: string, llama2cPath: string): void {
  const files = buildLlama2cTokenizerJson(readLlama2cVocab('test', llama2cPath, undefined));
  if (typeof files === 'string') throw new Error(files);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
}

describe('loadTokenizer', () => {
  it('reads a llama2.c tokenizer file', () => {
    expect(loadTokenizer(tok105).vocabSize).toBe(105);
  });

  it('reads a tokenizer.json file path or a directory holding one', () => {
    const dir = join(root, 'hf');
    writeHfTokenizer(dir, tok512);
    expect(loadTokenizer(dir).vocabSize).toBe(512);
    expect(loadTokenizer(join(dir, 'tokenizer.json')).encode('Lily')).toEqual(loadTokenizer(tok512).encode('Lily'));
  });

  it('reads the tokenizer of a VPTQ model directory, BOS/EOS from its quantized config.json', () => {
    const { dir } = writeTinyVptqModel(join(root, 'vptq'), { config: { bos_token_id: 1, eos_token_id: [2, 3] } });
    writeHfTokenizer(dir, tok512);
    const tokenizer = loadTokenizer(dir);
    expect(tokenizer.vocabSize).toBe(512);
    expect([tokenizer.bosId, tokenizer.eosId]).toEqual([1, 2]);
    expect(tokenizer.encode('Lily', { bos: true })).toEqual(loadTokenizer(tok512).encode('Lily', { bos: true }));
  });

  it('prefers tokenizer.bin over tokenizer.json in a directory', () => {
    const dir = join(root, 'both');
    writeHfTokenizer(dir, tok512);
    copyFileSync(tok105, join(dir, 'tokenizer.bin'));
    expect(loadTokenizer(dir).vocabSize).toBe(105);
  });

  it('rejects a directory with neither file and a missing path', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => loadTokenizer(empty)).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_FORMAT', path: empty }));
    expect(() => loadTokenizer(join(root, 'absent'))).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_FOUND' }));
  });
});
