import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
import { expectLoaderError } from './test/expect-loader-error';

const original = readFileSync(fixturePath('en10-babyllama-tok105', 'tok105.bin'));
const dir = makeTempDir('vptq-loader-tokenizer-');
let counter = 0;

function writeVariant(bytes: Uint8Array): string {
  const path = join(dir, `variant-${counter++}.bin`);
  writeFileSync(path, bytes);
  return path;
}

/** Byte offset of piece `id`'s score in tok105.bin, found by walking the lengths. */
function pieceOffset(id: number): number {
  let offset = 4;
  for (let i = 0; i < id; i++) offset += 8 + original.readInt32LE(offset + 4);
  return offset;
}

function expectTokenizerError(path: string, expected: Record<string, unknown>, message: RegExp): void {
  const error = expectLoaderError(() => loadLlama2cTokenizer(path), { path, ...expected }, message);
  expect(error.message).toContain(path);
}

describe('loadLlama2cTokenizer on malformed files', () => {
  it('reports a file too short for max_token_length', () => {
    expectTokenizerError(writeVariant(original.subarray(0, 2)), { code: 'VPTQ_LOADER_TRUNCATED', field: 'max_token_length' }, /truncated/);
  });

  it('reports a file cut inside a piece', () => {
    const cut = pieceOffset(50) + 5;
    expectTokenizerError(
      writeVariant(original.subarray(0, cut)),
      { code: 'VPTQ_LOADER_TRUNCATED', field: 'piece 50 header' },
      /piece 50 header needs bytes/,
    );
  });

  it('reports a cut inside the bytes of a multi-byte piece', () => {
    // Piece 96 is "€", three UTF-8 bytes.
    const cut = pieceOffset(96) + 8 + 2;
    expectTokenizerError(writeVariant(original.subarray(0, cut)), { code: 'VPTQ_LOADER_TRUNCATED', field: 'piece 96 bytes' }, /truncated/);
  });

  it.each([
    [0, /max_token_length must be between 1 and 65536 \(got 0\)/],
    [-3, /max_token_length must be between 1 and 65536 \(got -3\)/],
  ])('rejects max_token_length %i', (value, message) => {
    const copy = Buffer.from(original);
    copy.writeInt32LE(value, 0);
    expectTokenizerError(writeVariant(copy), { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'max_token_length' }, message);
  });

  it.each([
    [-1, /piece 10 length must be between 1 and max_token_length 6 \(got -1\)/],
    [0, /\(got 0\)/],
    [7, /\(got 7\)/],
  ])('rejects piece length %i', (value, message) => {
    const copy = Buffer.from(original);
    copy.writeInt32LE(value, pieceOffset(10) + 4);
    expectTokenizerError(writeVariant(copy), { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'piece 10 length' }, message);
  });

  it('rejects a piece that is not valid UTF-8', () => {
    const copy = Buffer.from(original);
    // Piece 96 "€" is E2 82 AC; a lone continuation byte in front makes it invalid.
    copy[pieceOffset(96) + 8] = 0x82;
    expectTokenizerError(writeVariant(copy), { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'piece 96 bytes' }, /piece 96 is not valid UTF-8/);
  });

  it('rejects a NaN or infinite score', () => {
    const copy = Buffer.from(original);
    copy.writeFloatLE(Number.NaN, pieceOffset(20));
    expectTokenizerError(writeVariant(copy), { code: 'VPTQ_LOADER_NOT_FINITE', field: 'piece 20 score' }, /score must be finite \(got NaN\)/);
  });

  it('rejects a vocabulary without BOS and EOS', () => {
    expectTokenizerError(
      writeVariant(original.subarray(0, pieceOffset(2))),
      { code: 'VPTQ_LOADER_BAD_TOKENIZER', field: 'vocabSize' },
      /at least 3 pieces/,
    );
  });

  it('rejects a missing file and a directory', () => {
    expect(() => loadLlama2cTokenizer(join(dir, 'absent.bin'))).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_FOUND' }));
    expect(() => loadLlama2cTokenizer(dir)).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_IO', path: dir }));
  });
});
