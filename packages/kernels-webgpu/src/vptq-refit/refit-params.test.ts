import { describe, expect, it } from 'vitest';

import { defineParams } from '../params-struct';
import { refitCgParams } from '../refit-cg/refit-cg';
import { refitCgWgsl } from '../refit-cg/refit-cg.wgsl';
import { refitDiagonalParams } from '../refit-diagonal/refit-diagonal';
import { refitDiagonalWgsl } from '../refit-diagonal/refit-diagonal.wgsl';
import { refitGatherParams } from '../refit-gather/refit-gather';
import { refitGatherWgsl } from '../refit-gather/refit-gather.wgsl';
import { refitMatvecParams } from '../refit-matvec/refit-matvec';
import { refitMatvecWgsl } from '../refit-matvec/refit-matvec.wgsl';
import { refitNormalParams } from '../refit-normal/refit-normal';
import { refitNormalWgsl } from '../refit-normal/refit-normal.wgsl';
import { refitNullParams } from '../refit-null/refit-null';
import { refitNullWgsl } from '../refit-null/refit-null.wgsl';
import { refitReconstructParams } from '../refit-reconstruct/refit-reconstruct';
import { refitReconstructWgsl } from '../refit-reconstruct/refit-reconstruct.wgsl';
import { wgslParamsFields } from '../test/wgsl-params-fields';


describe('Params of the refit kernels', () => {
  const mixed = [
    ['refitNormalWgsl', refitNormalParams, refitNormalWgsl],
    ['refitGatherWgsl', refitGatherParams, refitGatherWgsl],
    ['refitCgWgsl', refitCgParams, refitCgWgsl],
  ] as const;
  for (const [name, params, code] of mixed) {
    it(`names the fields of ${name}'s Params in order, with their types`, () => {
      expect(wgslParamsFields(code)).toEqual(params.fields.map(([field, type]) => [field, type]));
    });
  }
  const u32 = [
    ['refitReconstructWgsl', refitReconstructParams, refitReconstructWgsl],
    ['refitMatvecWgsl', refitMatvecParams, refitMatvecWgsl],
    ['refitNullWgsl', refitNullParams, refitNullWgsl],
    ['refitDiagonalWgsl', refitDiagonalParams, refitDiagonalWgsl],
  ] as const;
  for (const [name, params, code] of u32) {
    it(`names the u32 fields of ${name}'s Params in order, with their types`, () => {
      expect(wgslParamsFields(code)).toEqual(params.fields.map(([field, type]) => [field, type]));
    });
  }

  it('packs mixed fields by name, 4 bytes each, and rejects a u32 that is not one and an f32 that is not finite', () => {
    const params = defineParams('test', [
      ['count', 'u32'],
      ['scale', 'f32'],
    ] as const);
    const bytes = params.pack({ count: 7, scale: 0.5 });
    expect(bytes.byteLength).toBe(16);
    expect(new Uint32Array(bytes)[0]).toBe(7);
    expect(new Float32Array(bytes)[1]).toBe(0.5);
    expect(() => params.pack({ count: -1, scale: 1 })).toThrow('test: params.count must be a u32 (got -1)');
    expect(() => params.pack({ count: 1, scale: Number.NaN })).toThrow('test: params.scale must be a finite f32 (got NaN)');
  });
});
