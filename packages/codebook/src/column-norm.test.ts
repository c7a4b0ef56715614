import { randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { computeColumnNorm, toOriginalLayout, toWorkingLayout } from './column-norm';
import type { ColumnNorm } from './column-norm';

// 130 rows cross two band boundaries of the blocked transposes and end in a partial band.
const rows = 130;
const cols = 37;
const weight = { data: randomFloats(rows * cols, 11), rows, cols };
const perm = Uint32Array.from({ length: cols }, (_, position) => (position * 17 + 5) % cols);
const dead = new Uint8Array(cols);
dead[3] = 1;
dead[20] = 1;
const norm = computeColumnNorm(weight, 'F16');

/** The column-at-a-time definitions the blocked loops replace. */
function naiveWorking(norm: ColumnNorm | undefined): Float32Array {
  const working = new Float32Array(cols * rows);
  for (let position = 0; position < cols; position++) {
    const column = perm[position];
    if (dead[column] === 1) continue;
    const scale = norm === undefined ? 1 : norm.scale[column];
    const bias = norm === undefined ? 0 : norm.bias[column];
    for (let row = 0; row < rows; row++) working[position * rows + row] = (weight.data[row * cols + column] - bias) / scale;
  }
  return working;
}

function naiveOriginal(quantized: Float32Array, norm: ColumnNorm | undefined): Float32Array {
  const output = new Float32Array(rows * cols);
  for (let position = 0; position < cols; position++) {
    const column = perm[position];
    for (let row = 0; row < rows; row++) {
      const value = quantized[position * rows + row];
      output[row * cols + column] = norm === undefined ? value : Math.fround(value * norm.scale[column] + norm.bias[column]);
    }
  }
  return output;
}

describe('toWorkingLayout / toOriginalLayout', () => {
  for (const withNorm of [false, true]) {
    it(`equal the column-at-a-time transposes bit for bit${withNorm ? ' with the column norm' : ''}`, () => {
      const columnNorm = withNorm ? norm : undefined;
      const working = toWorkingLayout(weight, perm, dead, columnNorm);
      expect(working).toEqual(naiveWorking(columnNorm));
      expect(toOriginalLayout(working, rows, perm, columnNorm)).toEqual(naiveOriginal(working, columnNorm));
    });
  }

  it('round-trip a live column without the norm', () => {
    const back = toOriginalLayout(toWorkingLayout(weight, perm, dead, undefined), rows, perm, undefined);
    for (let row = 0; row < rows; row++) {
      expect(back[row * cols + 7]).toBe(weight.data[row * cols + 7]);
      expect(back[row * cols + 3]).toBe(0);
    }
  });
});
