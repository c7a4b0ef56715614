import { describe, expect, it } from 'vitest';

import { gemmTnParams } from '../gemm-tn/gemm-tn';
import { gemmTnWgsl } from '../gemm-tn/gemm-tn.wgsl';
import { proxyDeltaParams } from '../proxy-delta/proxy-delta';
import { proxyDeltaWgsl } from '../proxy-delta/proxy-delta.wgsl';
import { vptqColumnParams } from './vptq-column-params';
import { vptqColumnRecordBytes } from './vptq-column';
import { vptqColumnWgsl } from './vptq-column.wgsl';
import { wgslParamsFields } from '../test/wgsl-params-fields';


describe('Params of the quantizer kernels', () => {
  for (const [name, params, code] of [
    ['vptqColumnWgsl', vptqColumnParams, vptqColumnWgsl],
    ['gemmTnWgsl', gemmTnParams, gemmTnWgsl],
    ['proxyDeltaWgsl', proxyDeltaParams, proxyDeltaWgsl],
  ] as const) {
    it(`names the u32 fields of ${name}'s Params in order, with their types`, () => {
      expect(wgslParamsFields(code)).toEqual(params.fields.map(([field, type]) => [field, type]));
    });
  }

  it('packs by name, 4 bytes per field, and rejects a value that is not a u32', () => {
    const values = Object.fromEntries(vptqColumnParams.fields.map(([field], index) => [field, 1000 + index]));
    const bytes = new Uint32Array(vptqColumnParams.pack(values as never));
    expect(Array.from(bytes.subarray(0, vptqColumnParams.fields.length))).toEqual(vptqColumnParams.fields.map((_, index) => 1000 + index));
    // The record bound per column covers the struct rounded up to 16 bytes.
    expect(vptqColumnRecordBytes).toBe(Math.ceil((vptqColumnParams.fields.length * 4) / 16) * 16);
    expect(() => gemmTnParams.pack({ m: 1, n: 1, k: 1, lda: 1, ldb: 1, ldx: 1, aOffset: -1, bOffset: 0, xOffset: 0 })).toThrow(
      /gemm-tn: params.aOffset must be a u32 \(got -1\)/,
    );
  });
});
