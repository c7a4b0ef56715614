import { describe, expect, it } from 'vitest';

import { wgslParamsFields } from '../test/wgsl-params-fields';
import { packVqGemvOnChipParams, packVqGemvPrepareXParams, vqGemvOnChipParamsFields, vqGemvOnChipTableWords, vqGemvPrepareXParamsFields } from './vq-gemv-onchip-params';
import { vqGemvOnChipBlocksWgsl, vqGemvOnChipWordsWgsl, vqGemvPrepareXWgsl } from './vq-gemv-onchip.wgsl';

describe('on-chip VQ-GEMV Params', () => {
  for (const [name, code] of [
    ['vqGemvOnChipBlocksWgsl', vqGemvOnChipBlocksWgsl],
    ['vqGemvOnChipWordsWgsl', vqGemvOnChipWordsWgsl],
  ] as const) {
    it(`names the fields of ${name}'s Params in order, with their types`, () => {
      expect(wgslParamsFields(code)).toEqual(vqGemvOnChipParamsFields.map(([field, type]) => [field, type]));
    });
  }

  it("names the fields of vqGemvPrepareXWgsl's Params in order, with their types", () => {
    expect(wgslParamsFields(vqGemvPrepareXWgsl)).toEqual(vqGemvPrepareXParamsFields.map(([field, type]) => [field, type]));
  });

  it('packs the scalars 4 bytes apart and the table on the next 16-byte boundary', () => {
    const names = vqGemvOnChipParamsFields.slice(0, -1).map(([name]) => name);
    const values = Object.fromEntries(names.map((name, index) => [name, 10 + index]));
    const table = Uint32Array.from({ length: vqGemvOnChipTableWords }, (_, index) => 500 + index);
    const words = new Uint32Array(packVqGemvOnChipParams({ ...values, table } as Parameters<typeof packVqGemvOnChipParams>[0]));
    expect(Array.from(words.subarray(0, names.length))).toEqual(names.map((_, index) => 10 + index));
    expect(words.subarray(12)).toEqual(table);
    const prepare = new Uint32Array(packVqGemvPrepareXParams({ inFeatures: 7, tokens: 2, xStride: 9, blocks: 1, table: new Uint32Array(16).fill(3) }));
    expect(Array.from(prepare.subarray(0, 5))).toEqual([7, 2, 9, 1, 3]);
  });
});
