import { describe, expect, it } from 'vitest';

import { choleskyDiagonalWgsl } from './cholesky-diagonal.wgsl';
import { choleskyPanelWgsl } from './cholesky-panel.wgsl';
import { choleskyUpdateWgsl } from './cholesky-update.wgsl';
import { inverseCholeskyParams, packInverseCholeskyParams } from './inverse-cholesky-params';
import { inverseRowsWgsl } from './inverse-rows.wgsl';
import { inverseUpdateWgsl } from './inverse-update.wgsl';
import { wgslParamsFields } from '../test/wgsl-params-fields';


describe('inverseCholeskyParams', () => {
  it.each(Object.entries({ choleskyDiagonalWgsl, choleskyPanelWgsl, choleskyUpdateWgsl, inverseRowsWgsl, inverseUpdateWgsl }))(
    "names the fields of %s's Params in order, with their types",
    (_, code) => {
      expect(wgslParamsFields(code)).toEqual(inverseCholeskyParams.fields.map(([name, type]) => [name, type]));
    },
  );

  it('packs size, n² − 1, the block start and the block size as u32, in that order', () => {
    expect([...new Uint32Array(packInverseCholeskyParams(300, 256, 44))]).toEqual([300, 89999, 256, 44]);
  });
});
