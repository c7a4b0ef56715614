import { createTestRng, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { validateKmeans } from './validate-kmeans';

describe('validateKmeans finiteness checks', () => {
  it('name the first non-finite coordinate, as a Number.isFinite scan does, across chunk boundaries', () => {
    const next = createTestRng(8);
    const dim = 6;
    for (const rows of [1, 170, 171, 400]) {
      const data = randomFloats(rows * dim, rows);
      // Finite values at the edges of the exponent range are accepted.
      data[0] = -0;
      data[data.length - 1] = 3.4028234663852886e38;
      if (data.length > 2) data[1] = 1.401298464324817e-45;
      expect(() => validateKmeans('kmeans', { data, rows, cols: dim }, 1, {})).not.toThrow();
      for (const at of [0, 1023, 1024, 1025, data.length - 1, Math.floor(next() * data.length)]) {
        if (at >= data.length) continue;
        for (const value of [Number.NaN, Infinity, -Infinity]) {
          const copy = data.slice();
          copy[at] = value;
          if (at + 1 < copy.length) copy[copy.length - 1] = Number.NaN;
          const message = `kmeans: points must be finite (got ${value} at row ${Math.floor(at / dim)}, column ${at % dim})`;
          expect(() => validateKmeans('kmeans', { data: copy, rows, cols: dim }, 1, {})).toThrow(new RangeError(message));
          // A points view that does not start at its buffer's start.
          const view = new Float32Array(copy.length + 1);
          view.set(copy, 1);
          const viewed = { data: view.subarray(1), rows, cols: dim };
          expect(() => validateKmeans('kmeans', viewed, 1, {})).toThrow(new RangeError(message));
        }
      }
    }
  });

  it('name the first non-finite initial centroid entry', () => {
    const points = { data: randomFloats(40 * 2, 1), rows: 40, cols: 2 };
    const initial = { data: randomFloats(3 * 2, 2), rows: 3, cols: 2 };
    initial.data[3] = -Infinity;
    initial.data[5] = Number.NaN;
    expect(() => validateKmeans('kmeans', points, 3, { initialCentroids: initial })).toThrow(
      new RangeError('kmeans: initialCentroids must be finite (got -Infinity at index 3)'),
    );
  });
});
