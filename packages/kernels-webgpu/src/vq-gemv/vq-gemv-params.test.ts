import { describe, expect, it } from 'vitest';

import { packVqGemvParams, packVqGemvReduceParams, vqGemvParamsFields, vqGemvReduceParamsFields, vqGemvTableWords } from './vq-gemv-params';
import { vqGemvReduceWgsl, vqGemvSubgroupsWgsl, vqGemvWgsl } from './vq-gemv.wgsl';
import { wgslParamsFields } from '../test/wgsl-params-fields';


describe('vqGemvParamsFields', () => {
  for (const [name, code] of [
    ['vqGemvWgsl', vqGemvWgsl],
    ['vqGemvSubgroupsWgsl', vqGemvSubgroupsWgsl],
  ] as const) {
    it(`names the fields of ${name}'s Params in order, with their types`, () => {
      expect(wgslParamsFields(code)).toEqual(vqGemvParamsFields.map(([field, type]) => [field, type]));
    });
  }

  it("names the fields of vqGemvReduceWgsl's Params in order, with their types", () => {
    expect(wgslParamsFields(vqGemvReduceWgsl)).toEqual(vqGemvReduceParamsFields.map(([field, type]) => [field, type]));
  });
});

describe('packVqGemvParams', () => {
  it('writes each field at its WGSL offset: scalars 4 bytes apart, the table on the next 16-byte boundary', () => {
    const names = vqGemvParamsFields.filter(([, type]) => type === 'u32').map(([name]) => name);
    const values = Object.fromEntries(names.map((name, index) => [name, 100 + index]));
    const table = Uint32Array.from({ length: vqGemvTableWords }, (_, index) => 1000 + index);
    const bytes = packVqGemvParams({ ...values, epsilon: 0.5, table } as Parameters<typeof packVqGemvParams>[0]);
    const view = new DataView(bytes);
    const scalars = vqGemvParamsFields.length - 1;
    expect(bytes.byteLength).toBe(Math.ceil(scalars / 4) * 16 + 16 * (vqGemvTableWords / 4));
    for (const [index, [name, type]] of vqGemvParamsFields.slice(0, scalars).entries()) {
      expect(type === 'f32' ? view.getFloat32(4 * index, true) : view.getUint32(4 * index, true), name).toBe(type === 'f32' ? 0.5 : values[name]);
    }
    expect(new Uint32Array(bytes, Math.ceil(scalars / 4) * 16)).toEqual(table);
  });

  it('rejects a table of the wrong length', () => {
    const scalars = Object.fromEntries(vqGemvParamsFields.slice(0, -1).map(([name]) => [name, 0]));
    expect(() => packVqGemvParams({ ...scalars, table: new Uint32Array(4) } as Parameters<typeof packVqGemvParams>[0])).toThrow(/table must be a Uint32Array of 48 words/);
  });

  it('packs the reduction Params in declaration order', () => {
    expect(new Uint32Array(packVqGemvReduceParams({ outputs: 37, tokens: 3, slots: 9, yStride: 40 }))).toEqual(Uint32Array.of(37, 3, 9, 40));
  });
});
