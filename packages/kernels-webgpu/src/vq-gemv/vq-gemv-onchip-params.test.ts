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
    const scalars = vqGemvOnChipParamsFields.slice(0, -1);
    const values = Object.fromEntries(scalars.map(([name], index) => [name, name === 'epsilon' ? 0.25 : 10 + index]));
    const table = Uint32Array.from({ length: vqGemvOnChipTableWords }, (_, index) => 500 + index);
    const bytes = packVqGemvOnChipParams({ ...values, table } as Parameters<typeof packVqGemvOnChipParams>[0]);
    const view = new DataView(bytes);
    for (const [index, [name, type]] of scalars.entries()) {
      expect(type === 'f32' ? view.getFloat32(4 * index, true) : view.getUint32(4 * index, true), name).toBe(values[name]);
    }
    const tableStart = Math.ceil(scalars.length / 4) * 4;
    expect(new Uint32Array(bytes).subarray(tableStart)).toEqual(table);
    const prepare = new Uint32Array(packVqGemvPrepareXParams({ inFeatures: 7, tokens: 2, xStride: 9, blocks: 1, upOffset: 4, table: new Uint32Array(16).fill(3) }));
    expect(Array.from(prepare.subarray(0, 9))).toEqual([7, 2, 9, 1, 4, 0, 0, 0, 3]);
  });
});
