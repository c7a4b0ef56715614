import { readFileSync } from 'node:fs';

import { createTestRng, fixturePath } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';

const tok512Path = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const tok105Path = fixturePath('en10-babyllama-tok105', 'tok105.bin');
const sampleText = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8');
const stories = sampleText
  .split('<|endoftext|>')
  .map((story) => story.trim())
  .filter((story) => story.length > 0);

/** The tokenizer file parsed with Buffer, independently of the loader. */
function rawVocab(path: string): { pieces: Buffer[]; scores: number[] } {
  const bytes = readFileSync(path);
  const pieces: Buffer[] = [];
  const scores: number[] = [];
  for (let offset = 4; offset < bytes.length; ) {
    scores.push(bytes.readFloatLE(offset));
    const length = bytes.readInt32LE(offset + 4);
    pieces.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return { pieces, scores };
}

/**
 * A line-by-line port of llama2.c run.c `encode` (quadratic merge loop, byte strings, bsearch replaced by a
 * map), kept deliberately naive as the reference the fast encoder must match.
 */
function referenceEncode(path: string, text: string, byteFallback: boolean): number[] {
  const { pieces, scores } = rawVocab(path);
  const lookup = new Map<string, number>();
  pieces.forEach((piece, id) => {
    const key = piece.toString('latin1');
    if (!lookup.has(key)) lookup.set(key, id);
  });
  const tokens: number[] = [1];
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 0) tokens.push(lookup.get(' ') as number);
  let buffer: number[] = [];
  for (let c = 0; c < bytes.length; c++) {
    if ((bytes[c] & 0xc0) !== 0x80) buffer = [];
    buffer.push(bytes[c]);
    if (c + 1 < bytes.length && (bytes[c + 1] & 0xc0) === 0x80 && buffer.length < 4) continue;
    const id = lookup.get(Buffer.from(buffer).toString('latin1'));
    if (id !== undefined) tokens.push(id);
    else if (byteFallback) for (const byte of buffer) tokens.push(byte + 3);
    else tokens.push(0);
    buffer = [];
  }
  for (;;) {
    let bestScore = Math.fround(-1e10);
    let bestId = -1;
    let bestIndex = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup.get(pieces[tokens[i]].toString('latin1') + pieces[tokens[i + 1]].toString('latin1'));
      if (id !== undefined && scores[id] > bestScore) {
        bestScore = scores[id];
        bestId = id;
        bestIndex = i;
      }
    }
    if (bestIndex === -1) break;
    tokens.splice(bestIndex, 2, bestId);
  }
  return tokens;
}

function randomText(seed: number, length: number, alphabet: string[]): string {
  const next = createTestRng(seed);
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

describe('loadLlama2cTokenizer (tok512, byte fallback)', () => {
  const tokenizer = loadLlama2cTokenizer(tok512Path, { vocabSize: 512 });

  it('encodes the documented stories260K example', () => {
    expect(tokenizer.vocabSize).toBe(512);
    expect(tokenizer.bosId).toBe(1);
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.encode('Once upon a time, there was a little girl named Lily.', { bos: true })).toEqual([
      1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
    ]);
  });

  it('matches the run.c reference on every sample story', () => {
    for (const story of stories) {
      expect(tokenizer.encode(story, { bos: true })).toEqual(referenceEncode(tok512Path, story, true));
    }
  });

  it('matches the run.c reference on seeded random text with newlines, accents and emoji', () => {
    const alphabet = [...'abcdeehlnorst    ,.!\nTLO', 'é', 'ü', '—', '😀', '中', '\t'];
    for (let seed = 1; seed <= 20; seed++) {
      const text = randomText(seed, 120, alphabet);
      expect(tokenizer.encode(text, { bos: true }), `seed ${seed}`).toEqual(referenceEncode(tok512Path, text, true));
    }
  });

  it('falls back to byte pieces for characters outside the vocabulary', () => {
    // "\n" is 0x0A → id 13; "中" is E4 B8 AD → ids 231, 187, 176.
    expect(tokenizer.encode('\n')).toEqual([410, 13]);
    expect(tokenizer.encode('中')).toEqual([410, 0xe4 + 3, 0xb8 + 3, 0xad + 3]);
  });

  it('adds no dummy prefix to empty text, and appends EOS on request', () => {
    expect(tokenizer.encode('')).toEqual([]);
    expect(tokenizer.encode('', { bos: true, eos: true })).toEqual([1, 2]);
    expect(tokenizer.encode('a', { eos: true }).at(-1)).toBe(2);
  });

  it('decodes back to the text, dropping the space after BOS and joining multi-byte characters', () => {
    for (const story of stories) expect(tokenizer.decode(tokenizer.encode(story, { bos: true, eos: true }))).toBe(story);
    const text = 'Ünïcödé — 😀 and\nnewlines';
    const ids = tokenizer.encode(text, { bos: true });
    expect(ids.filter((id) => id >= 3 && id < 259).length).toBeGreaterThan(8);
    expect(tokenizer.decode(ids)).toBe(text);
    // Without BOS the dummy-prefix space stays, as llama2.c prints it.
    expect(tokenizer.decode(tokenizer.encode('Hi'))).toBe(' Hi');
  });

  it('decodes single tokens as run.c decode does', () => {
    const [, first, second] = tokenizer.encode('Once upon', { bos: true });
    expect(tokenizer.decodeToken(1, first)).toBe('Once');
    expect(tokenizer.decodeToken(first, second)).toBe(' upon');
    expect(tokenizer.decodeToken(first, 410)).toBe(' ');
    expect(tokenizer.decodeToken(1, 410)).toBe('');
    expect(tokenizer.decodeToken(5, 13)).toBe('\n');
    expect(tokenizer.decodeToken(5, 1)).toBe('');
    expect(tokenizer.decodeToken(5, 0xc3 + 3)).toBe('\uFFFD');
    expect(() => tokenizer.decodeToken(5, 512)).toThrow(RangeError);
    expect(() => tokenizer.decode([1, -1])).toThrow(/decode: ids\[1\] must be an integer token id below 512 \(got -1\)/);
  });

  it('encodes the 413 KB development text in well under a few seconds', () => {
    const text = readFileSync(fixturePath('tinystories-valid-head1000', 'valid-dev-000-499.txt'), 'utf8');
    const start = performance.now();
    let count = 0;
    for (const story of text.split('<|endoftext|>')) count += tokenizer.encode(story.trim(), { bos: true }).length;
    const elapsed = performance.now() - start;
    // PROVENANCE.md: 196,691 tokens after BOS over the 500 stories (+ 501 BOS, one per split part).
    expect(count).toBe(196_691 + 501);
    expect(elapsed).toBeLessThan(3000);
  });
});

describe('loadLlama2cTokenizer (tok105, no byte fallback)', () => {
  const tokenizer = loadLlama2cTokenizer(tok105Path);

  it('reads all 105 pieces and encodes character by character', () => {
    expect(tokenizer.vocabSize).toBe(105);
    // tok105.vocab lists "piece\tscore" with score −(id − 3): ▁ 3, O −31 → 34, n −6 → 9, c −19 → 22, e −1 → 4.
    expect(tokenizer.encode('Once', { bos: true })).toEqual([1, 3, 34, 9, 22, 4]);
  });

  it('maps unknown characters, newline included, to <unk> (0) instead of byte pieces', () => {
    // a −2 → 5, b −20 → 23.
    expect(tokenizer.encode('a\nb😀', { bos: true })).toEqual([1, 3, 5, 0, 23, 0]);
    expect(tokenizer.decode([1, 3, 5, 0, 23])).toBe('a<unk>b');
  });

  it('matches the run.c reference (without byte fallback) on the sample stories', () => {
    for (const story of stories) {
      expect(tokenizer.encode(story, { bos: true })).toEqual(referenceEncode(tok105Path, story, false));
    }
  });

  it('rejects a vocabSize that does not match the file', () => {
    expect(() => loadLlama2cTokenizer(tok105Path, { vocabSize: 100 })).toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_SIZE_MISMATCH', path: tok105Path }),
    );
    expect(() => loadLlama2cTokenizer(tok105Path, { vocabSize: 106 })).toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_TRUNCATED', field: 'piece 105 header' }),
    );
    expect(() => loadLlama2cTokenizer(tok105Path, { vocabSize: 2.5 })).toThrow(RangeError);
  });
});
