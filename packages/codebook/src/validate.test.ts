import { randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { assertWeight } from './validate';

describe('assertWeight', () => {
  it('names the first non-finite weight by row and column', () => {
    const rows = 40;
    const cols = 70;
    const data = randomFloats(rows * cols, 3);
    data[17 * cols + 9] = -Infinity;
    data[30 * cols + 2] = Number.NaN;
    const call = () => assertWeight('f', { data, rows, cols });
    expect(call).toThrow(new RangeError('f: weight must be finite (got -Infinity at row 17, column 9)'));
    data[17 * cols + 9] = 1;
    expect(call).toThrow(new RangeError('f: weight must be finite (got NaN at row 30, column 2)'));
    data[30 * cols + 2] = 0;
    expect(call).not.toThrow();
  });
});
