import { createTestRng, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { CodebookError } from './codebook-error';
import { assertWeightWithExtremes, computeColumnNorm, toOriginalLayout, toWorkingLayout } from './column-norm';
import type { ColumnNorm } from './column-norm';
import { roundToStorage } from './storage-dtype';
import { assertWeight } from './validate';

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

  it('keep signed zeros bit for bit without the norm (the plain-copy path)', () => {
    const data = weight.data.slice();
    for (let i = 0; i < data.length; i += 5) data[i] = i % 2 === 0 ? -0 : 0;
    const signed = { data, rows, cols };
    const expected = new Float32Array(cols * rows);
    for (let position = 0; position < cols; position++) {
      const column = perm[position];
      if (dead[column] === 1) continue;
      for (let row = 0; row < rows; row++) expected[position * rows + row] = (data[row * cols + column] - 0) / 1;
    }
    expect(new Uint8Array(toWorkingLayout(signed, perm, dead, undefined).buffer)).toEqual(new Uint8Array(expected.buffer));
  });

  it('round-trip a live column without the norm', () => {
    const back = toOriginalLayout(toWorkingLayout(weight, perm, dead, undefined), rows, perm, undefined);
    for (let row = 0; row < rows; row++) {
      expect(back[row * cols + 7]).toBe(weight.data[row * cols + 7]);
      expect(back[row * cols + 3]).toBe(0);
    }
  });
});

/** The one-row-at-a-time definition computeColumnNorm's four-row sweep replaces (f32 running extremes). */
function naiveNorm(matrix: { data: Float32Array; rows: number; cols: number }, dtype: 'F16' | 'BF16' | 'F32'): ColumnNorm {
  const low = new Float32Array(matrix.cols).fill(Infinity);
  const high = new Float32Array(matrix.cols).fill(-Infinity);
  for (let row = 0; row < matrix.rows; row++) {
    for (let col = 0; col < matrix.cols; col++) {
      const value = matrix.data[row * matrix.cols + col];
      if (value < low[col]) low[col] = value;
      if (value > high[col]) high[col] = value;
    }
  }
  const scale = new Float32Array(matrix.cols);
  const bias = new Float32Array(matrix.cols);
  for (let col = 0; col < matrix.cols; col++) {
    const range = roundToStorage(high[col] - low[col], dtype);
    scale[col] = range > 0 ? range : 1;
    bias[col] = roundToStorage(low[col], dtype);
  }
  return { scale, bias };
}

describe('computeColumnNorm', () => {
  it('equals the one-row-at-a-time definition bit for bit, signed zeros and constant columns included', () => {
    const next = createTestRng(21);
    // Row counts around the four-row sweep: a multiple of 4, and 1, 2 or 3 rows left over.
    for (const [rows, cols] of [[1, 5], [3, 4], [4, 9], [130, 37], [61, 33], [64, 1]]) {
      const data = randomFloats(rows * cols, rows * 100 + cols, 3);
      for (let i = 0; i < data.length; i++) if (next() < 0.15) data[i] = next() < 0.5 ? 0 : -0;
      // Column 0 all zeros, −0 first: the first of the tied extremes is kept.
      for (let row = 0; row < rows; row++) data[row * cols] = row === 0 ? -0 : 0;
      const matrix = { data, rows, cols };
      for (const dtype of ['F16', 'BF16', 'F32'] as const) {
        const expected = naiveNorm(matrix, dtype);
        const actual = computeColumnNorm(matrix, dtype);
        expect(new Uint8Array(actual.scale.buffer)).toEqual(new Uint8Array(expected.scale.buffer));
        expect(new Uint8Array(actual.bias.buffer)).toEqual(new Uint8Array(expected.bias.buffer));
      }
      expect(Object.is(computeColumnNorm(matrix, 'F32').bias[0], -0)).toBe(true);
    }
  });

  it('names the first column whose norm does not fit the storage dtype', () => {
    const rows = 9;
    const cols = 11;
    const data = randomFloats(rows * cols, 2);
    data[5 * cols + 8] = 70000;
    data[6 * cols + 3] = -40000;
    data[7 * cols + 3] = 40000;
    const call = () => computeColumnNorm({ data, rows, cols }, 'F16');
    expect(call).toThrow(CodebookError);
    expect(call).toThrow(/^quantizeVptqLayer: column 3 \(min -40000, max 40000\) does not fit the F16 norm scale and bias$/);
  });
});

describe('assertWeightWithExtremes', () => {
  const thrown = (call: () => unknown): string => {
    try {
      call();
      return 'no error';
    } catch (error) {
      return `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
  };

  it('throws what assertWeight throws, for the same first non-finite value in row-major order', () => {
    const next = createTestRng(4);
    for (const [rows, cols] of [[1, 3], [4, 6], [7, 5], [130, 37]]) {
      for (let trial = 0; trial < 30; trial++) {
        const data = randomFloats(rows * cols, trial + rows);
        // One to three bad values anywhere: the sweep visits four rows of a column before the next column, so a bad
        // value further down a column is met before one further right in an earlier row.
        const count = 1 + (trial % 3);
        for (let k = 0; k < count; k++) data[Math.floor(next() * data.length)] = [Number.NaN, Infinity, -Infinity][(trial + k) % 3];
        const weight = { data, rows, cols };
        const expected = thrown(() => assertWeight('f', weight));
        expect(expected).not.toBe('no error');
        expect(thrown(() => assertWeightWithExtremes('f', weight))).toBe(expected);
      }
    }
    // The case in the comment above, by construction: (row 2, column 0) is swept before (row 0, column 5).
    const data = randomFloats(4 * 6, 1);
    data[2 * 6] = Number.NaN;
    data[5] = Infinity;
    expect(thrown(() => assertWeightWithExtremes('f', { data, rows: 4, cols: 6 }))).toBe(
      'RangeError: f: weight must be finite (got Infinity at row 0, column 5)',
    );
  });

  it('checks the form as assertWeight does', () => {
    const malformed = [
      null,
      {},
      { data: new Float64Array(4), rows: 2, cols: 2 },
      { data: new Float32Array(4), rows: 2, cols: 3 },
      { data: new Float32Array(4), rows: 0, cols: 4 },
      { data: new Float32Array(4), rows: 2.5, cols: 2 },
    ];
    for (const weight of malformed) {
      const expected = thrown(() => assertWeight('f', weight as never));
      expect(expected).not.toBe('no error');
      expect(thrown(() => assertWeightWithExtremes('f', weight as never))).toBe(expected);
    }
  });

  it('returns the extremes computeColumnNorm finds for a finite weight', () => {
    for (const dtype of ['F16', 'BF16', 'F32'] as const) {
      const extremes = assertWeightWithExtremes('f', weight);
      expect(extremes.finite).toBe(true);
      const expected = computeColumnNorm(weight, dtype);
      const actual = computeColumnNorm(weight, dtype, extremes);
      expect(new Uint8Array(actual.scale.buffer)).toEqual(new Uint8Array(expected.scale.buffer));
      expect(new Uint8Array(actual.bias.buffer)).toEqual(new Uint8Array(expected.bias.buffer));
    }
  });
});
