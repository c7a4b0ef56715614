import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createTestRng, fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { expectEveryMutationFails, fuzzOutcome } from './test/expect-loader-error';
import { openLlama2c } from './open-llama2c';

type Mutation = 'truncate' | 'extend' | 'flip-header' | 'set-header' | 'flip-data';
const mutations: Mutation[] = ['truncate', 'extend', 'flip-header', 'set-header', 'flip-data'];
const specialValues = [0, 1, -1, 2, 3, 7, 64, 65535, 65536, 1 << 20, 0x7fffffff, -0x80000000];

function mutate(original: Buffer, seed: number): { bytes: Buffer; mutation: Mutation; touched: number } {
  const next = createTestRng(seed);
  const pick = (count: number): number => Math.floor(next() * count);
  const mutation = mutations[seed % mutations.length];
  switch (mutation) {
    case 'truncate': {
      // Half the cuts land in the header, where every field read must notice the missing bytes.
      const length = next() < 0.5 ? pick(40) : pick(original.length);
      return { bytes: original.subarray(0, length), mutation, touched: length };
    }
    case 'extend':
      return { bytes: Buffer.concat([original, Buffer.alloc(1 + pick(64), pick(256))]), mutation, touched: original.length };
    case 'flip-header': {
      const copy = Buffer.from(original);
      const byte = pick(28);
      copy[byte] ^= 1 << pick(8);
      return { bytes: copy, mutation, touched: byte };
    }
    case 'set-header': {
      const copy = Buffer.from(original);
      const field = pick(7);
      copy.writeInt32LE(specialValues[pick(specialValues.length)] | 0, field * 4);
      return { bytes: copy, mutation, touched: field * 4 };
    }
    case 'flip-data': {
      const copy = Buffer.from(original);
      // Exponent bits (the high byte of a little-endian f32) are where NaN/Inf come from.
      const word = 7 + pick((original.length - 28) / 4);
      const byte = word * 4 + (next() < 0.5 ? 3 : pick(4));
      copy[byte] ^= 1 << pick(8);
      for (let extra = 0; extra < 3; extra++) copy[(word + extra) * 4 + 3] |= 0x7f;
      return { bytes: copy, mutation, touched: byte };
    }
  }
}

const fixtures = [
  fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'),
  fixturePath('saltyduckegg-llama2xs-model', 'model.bin'),
];

describe('openLlama2c fuzz', () => {
  it.each(fixtures)('turns 200 seeded mutations of %s into success or a LoaderError', (fixture) => {
    const original = readFileSync(fixture);
    const dir = makeTempDir('vptq-loader-fuzz-');
    const outcomes = new Map<string, number>();
    for (let seed = 0; seed < 200; seed++) {
      const { bytes, mutation, touched } = mutate(original, seed);
      const path = join(dir, `mutant-${seed}.bin`);
      writeFileSync(path, bytes);
      const outcome = fuzzOutcome(`seed ${seed} (${mutation})`, path, () => {
        const model = openLlama2c(path);
        try {
          // Read the tensor holding the mutated byte plus the first and last, not all 47: keeps the fuzz fast.
          let offset = 28;
          const chosen = new Set([model.tensors[0].name, model.tensors.at(-1)?.name as string]);
          for (const tensor of model.tensors) {
            const byteLength = tensor.shape.reduce((a, b) => a * b, 1) * 4;
            if (touched >= offset && touched < offset + byteLength) chosen.add(tensor.name);
            offset += byteLength;
          }
          for (const name of chosen) model.readTensor(name);
        } finally {
          model.close();
        }
      }, (error) => expect(error.path).toBe(path));
      outcomes.set(`${mutation} ${outcome}`, (outcomes.get(`${mutation} ${outcome}`) ?? 0) + 1);
    }
    // Every mutation kind must have produced failures, or the fuzz is not reaching the checks.
    expectEveryMutationFails(outcomes, mutations);
    expect(outcomes.get('truncate VPTQ_LOADER_TRUNCATED')).toBeGreaterThan(0);
    expect(outcomes.get('extend VPTQ_LOADER_SIZE_MISMATCH')).toBe(40);
    expect(outcomes.get('flip-data VPTQ_LOADER_NOT_FINITE')).toBeGreaterThan(0);
  });
});
