import { describe, expect, it } from 'vitest';

import { choleskyDiagonalWgsl } from './cholesky-diagonal.wgsl';
import { choleskyPanelWgsl } from './cholesky-panel.wgsl';
import { choleskyUpdateWgsl } from './cholesky-update.wgsl';
import { inverseCholeskyParamsFields, packInverseCholeskyParams } from './inverse-cholesky-params';
import { inverseRowsWgsl } from './inverse-rows.wgsl';
import { inverseUpdateWgsl } from './inverse-update.wgsl';

/** The `[name, type]` fields of the WGSL `struct Params { … }` in `code`. */
function wgslParamsFields(code: string): [string, string][] {
  const body = /struct Params \{([^}]*)\}/.exec(code)?.[1];
  if (body === undefined) throw new Error('no struct Params');
  return body
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '')
    .map((field) => field.split(/:\s*/) as [string, string]);
}

describe('inverseCholeskyParamsFields', () => {
  it.each(Object.entries({ choleskyDiagonalWgsl, choleskyPanelWgsl, choleskyUpdateWgsl, inverseRowsWgsl, inverseUpdateWgsl }))(
    "names the fields of %s's Params in order, with their types",
    (_, code) => {
      expect(wgslParamsFields(code)).toEqual(inverseCholeskyParamsFields.map(([name, type]) => [name, type]));
    },
  );

  it('packs size, n² − 1, the block start and the block size as u32, in that order', () => {
    expect([...new Uint32Array(packInverseCholeskyParams(300, 256, 44))]).toEqual([300, 89999, 256, 44]);
  });
});
