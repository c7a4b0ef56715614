import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createTestRng, fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
import { fuzzOutcome } from './test/expect-loader-error';

type Mutation = 'truncate' | 'extend' | 'flip' | 'set-length' | 'set-max';
const mutations: Mutation[] = ['truncate', 'extend', 'flip', 'set-length', 'set-max'];
const text = 'Once upon a time, there was a little girl named Lily.\nShe said: "é—😀!"';

function pieceOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = 4; offset < bytes.length; offset += 8 + bytes.readInt32LE(offset + 4)) offsets.push(offset);
  return offsets;
}

function mutate(original: Buffer, offsets: number[], seed: number): { bytes: Buffer; mutation: Mutation } {
  const next = createTestRng(seed);
  const pick = (count: number): number => Math.floor(next() * count);
  const mutation = mutations[seed % mutations.length];
  const copy = Buffer.from(original);
  switch (mutation) {
    case 'truncate':
      return { bytes: original.subarray(0, pick(original.length)), mutation };
    case 'extend':
      return { bytes: Buffer.concat([original, Buffer.alloc(1 + pick(16), pick(256))]), mutation };
    case 'flip':
      for (let flips = 1 + pick(3); flips > 0; flips--) copy[pick(copy.length)] ^= 1 << pick(8);
      return { bytes: copy, mutation };
    case 'set-length':
      copy.writeInt32LE([-1, 0, 1, 2, 1000, 0x7fffffff][pick(6)], offsets[pick(offsets.length)] + 4);
      return { bytes: copy, mutation };
    case 'set-max':
      copy.writeInt32LE([0, 1, 3, -7, 1 << 20][pick(5)], 0);
      return { bytes: copy, mutation };
  }
}

describe('loadLlama2cTokenizer fuzz', () => {
  it.each([
    [fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'), 512],
    [fixturePath('en10-babyllama-tok105', 'tok105.bin'), 105],
  ])('turns 300 seeded mutations of %s into success or a LoaderError', (fixture, vocabSize) => {
    const original = readFileSync(fixture);
    const offsets = pieceOffsets(original);
    const dir = makeTempDir('vptq-loader-tokfuzz-');
    let failures = 0;
    for (let seed = 0; seed < 300; seed++) {
      const { bytes, mutation } = mutate(original, offsets, seed);
      const path = join(dir, `mutant-${seed}.bin`);
      writeFileSync(path, bytes);
      const outcome = fuzzOutcome(`seed ${seed} (${mutation})`, path, () => {
        // Alternate between the header-driven and the read-to-end modes of the parser.
        const tokenizer = loadLlama2cTokenizer(path, seed % 2 === 0 ? { vocabSize } : {});
        const ids = tokenizer.encode(text, { bos: true, eos: true });
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
        expect(typeof tokenizer.decode(ids)).toBe('string');
      });
      if (outcome !== 'ok') failures++;
    }
    expect(failures).toBeGreaterThan(100);
    expect(failures).toBeLessThan(300);
  });
});
