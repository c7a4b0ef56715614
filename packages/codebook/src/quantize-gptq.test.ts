import { prepareHessian } from '@vptq/hessian';
import { describe, expect, it } from 'vitest';

import { measureProxyError } from './measure-proxy-error';
import { quantizeGptq } from './quantize-gptq';
import { quantizeRtn } from './quantize-rtn';
import { randomHessian, randomPreparedHessian, randomWeight } from './test/random-layer';

const rows = 24;
const cols = 40;
const weight = randomWeight(rows, cols, 5);

describe('quantizeGptq', () => {
  it('beats round-to-nearest in proxy error at 2, 3 and 4 bits on a correlated Hessian', () => {
    const prepared = randomPreparedHessian(cols, 6, { correlation: 1 });
    for (const bits of [2, 3, 4]) {
      const gptq = quantizeGptq(weight, prepared, { bits, blockSize: 16 });
      const rtn = quantizeRtn(weight, { bits });
      expect(gptq.scale).toEqual(rtn.scale);
      expect(gptq.offset).toEqual(rtn.offset);
      expect(measureProxyError(weight, gptq.weight, prepared)).toBeLessThan(0.7 * measureProxyError(weight, rtn.weight, prepared));
    }
  });

  it('equals round-to-nearest when the Hessian is diagonal (no error to feed forward)', () => {
    const diagonal = new Float64Array(cols * cols);
    for (let c = 0; c < cols; c++) diagonal[c * cols + c] = 1 + c;
    const prepared = prepareHessian({ data: diagonal, size: cols });
    expect(quantizeGptq(weight, prepared, { bits: 3 }).weight).toEqual(quantizeRtn(weight, { bits: 3 }).weight);
  });

  it('does not depend on the block size beyond rounding', () => {
    const prepared = randomPreparedHessian(cols, 7);
    const small = quantizeGptq(weight, prepared, { bits: 4, blockSize: 3 }).weight;
    const large = quantizeGptq(weight, prepared, { bits: 4 }).weight;
    let differences = 0;
    for (let i = 0; i < small.length; i++) if (small[i] !== large[i]) differences++;
    expect(differences).toBeLessThanOrEqual(2);
  });

  it('quantizes dead columns as zeros (the grid point nearest 0), whatever their weights were', () => {
    const hessian = randomHessian(cols, 8);
    for (let i = 0; i < cols; i++) {
      hessian[4 * cols + i] = 0;
      hessian[i * cols + 4] = 0;
    }
    const result = quantizeGptq(weight, prepareHessian({ data: hessian, size: cols }), { bits: 3 });
    const rtn = quantizeRtn(weight, { bits: 3 });
    let moved = 0;
    for (let row = 0; row < rows; row++) {
      const value = result.weight[row * cols + 4];
      expect(Math.abs(value)).toBeLessThanOrEqual(result.scale[row] / 2 + 1e-7);
      if (value !== rtn.weight[row * cols + 4]) moved++;
    }
    expect(moved).toBeGreaterThan(rows / 2);
  });

  it('rejects bad arguments', () => {
    const prepared = randomPreparedHessian(cols, 6);
    expect(() => quantizeGptq(weight, prepared, { bits: 17 })).toThrow(/quantizeGptq: bits must be an integer between 1 and 16 \(got 17\)/);
    expect(() => quantizeGptq(weight, prepared, { bits: 2, blockSize: 0 })).toThrow(/blockSize must be an integer ≥ 1 \(got 0\)/);
    expect(() => quantizeGptq(weight, randomPreparedHessian(8, 1), { bits: 2 })).toThrow(/prepared.perm must have one entry per weight column/);
  });
});
