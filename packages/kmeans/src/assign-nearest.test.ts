import { randomMatrix } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { assignNearest } from './assign-nearest';
import { createNearestCentroidSearch } from './create-nearest-centroid-search';
import type { Matrix } from './matrix';
import { nearestCentroid } from './nearest-centroid';

/** The definition: full f64 distance, first minimum wins. */
function bruteForce(points: Matrix, centroids: Matrix): Uint32Array {
  const dim = points.cols;
  const result = new Uint32Array(points.rows);
  for (let p = 0; p < points.rows; p++) {
    let best = 0;
    let bestDistance = Infinity;
    for (let c = 0; c < centroids.rows; c++) {
      let distance = 0;
      for (let j = 0; j < dim; j++) {
        const d = points.data[p * dim + j] - centroids.data[c * dim + j];
        distance += d * d;
      }
      if (distance < bestDistance) {
        bestDistance = distance;
        best = c;
      }
    }
    result[p] = best;
  }
  return result;
}

/** Values on a coarse grid, so that exact distance ties are common. */
function gridMatrix(rows: number, cols: number, seed: number): Matrix {
  const m = randomMatrix({ rows, cols, seed });
  for (let i = 0; i < m.data.length; i++) m.data[i] = Math.round(m.data[i] * 2) / 2;
  return m;
}

describe('assignNearest', () => {
  it.each([
    [1, 7],
    [1, 300],
    [2, 31],
    [2, 500],
    [3, 64],
    [4, 256],
    [5, 40],
    [8, 300],
    [12, 64],
    [16, 100],
  ])('equals a brute-force scan for dim %i, k %i', (dim, k) => {
    const points = randomMatrix({ rows: 400, cols: dim, seed: dim * 1000 + k });
    const centroids = randomMatrix({ rows: k, cols: dim, seed: dim * 1000 + k + 1 });
    expect(assignNearest(points, centroids)).toEqual(bruteForce(points, centroids));
  });

  it.each([1, 2, 4, 6])('breaks exact ties towards the lower index (dim %i)', (dim) => {
    const points = gridMatrix(500, dim, 7 + dim);
    const centroids = gridMatrix(64, dim, 8 + dim); // many duplicate centroids and equidistant points
    expect(assignNearest(points, centroids)).toEqual(bruteForce(points, centroids));
    const twice = { data: new Float32Array([...centroids.data, ...centroids.data]), rows: 128, cols: dim };
    expect(Math.max(...assignNearest(points, twice))).toBeLessThan(64);
  });

  it('handles a single centroid and empty point sets', () => {
    const centroids = randomMatrix({ rows: 1, cols: 3, seed: 1 });
    expect(assignNearest(randomMatrix({ rows: 5, cols: 3, seed: 2 }), centroids)).toEqual(new Uint32Array(5));
    expect(assignNearest({ data: new Float32Array(0), rows: 0, cols: 3 }, centroids)).toEqual(new Uint32Array(0));
  });

  it('rejects mismatched widths, empty centroids and malformed matrices', () => {
    const points = randomMatrix({ rows: 8, cols: 8, seed: 3 });
    expect(() => assignNearest(points, randomMatrix({ rows: 4, cols: 6, seed: 4 }))).toThrow(
      'assignNearest: points and centroids must have the same width (got 8 and 6)',
    );
    expect(() => assignNearest(points, { data: new Float32Array(0), rows: 0, cols: 8 })).toThrow(
      'assignNearest: centroids must not be empty (got 0 rows)',
    );
    expect(() => assignNearest({ data: new Float32Array(7), rows: 1, cols: 8 }, points)).toThrow(
      'assignNearest: points.data must hold rows × cols values (got 7, expected 1 × 8)',
    );
    expect(() => assignNearest({ data: [1] as unknown as Float32Array, rows: 1, cols: 1 }, points)).toThrow(TypeError);
  });
});

describe('nearestCentroid', () => {
  it('finds the nearest centroid of a vector at an offset, f32 or f64', () => {
    const centroids = { data: new Float32Array([0, 0, 10, 10, 10, 0]), rows: 3, cols: 2 };
    expect(nearestCentroid(new Float64Array([99, 9, 1]), centroids, 1)).toBe(2);
    expect(nearestCentroid(new Float32Array([6, 6]), centroids)).toBe(1);
    expect(nearestCentroid(new Float32Array([5, 5]), centroids)).toBe(0); // three-way tie
  });

  it('rejects an offset that leaves no room for the vector', () => {
    const centroids = { data: new Float32Array(4), rows: 2, cols: 2 };
    expect(() => nearestCentroid(new Float32Array(3), centroids, 2)).toThrow(
      'nearestCentroid: offset must leave room for 2 values in vector (got offset = 2, length = 3)',
    );
  });
});

describe('createNearestCentroidSearch', () => {
  it('answers single queries like the brute-force scan and snapshots the centroids', () => {
    const centroids = randomMatrix({ rows: 200, cols: 4, seed: 5 });
    const points = randomMatrix({ rows: 100, cols: 4, seed: 6 });
    const expected = bruteForce(points, centroids);
    const search = createNearestCentroidSearch(centroids);
    centroids.data.fill(0);
    expect(search.count).toBe(200);
    expect(search.dim).toBe(4);
    for (let p = 0; p < points.rows; p++) expect(search.nearest(points.data, p * 4)).toBe(expected[p]);
    expect(search.assign(points)).toEqual(expected);
    expect(() => search.assign(randomMatrix({ rows: 1, cols: 3, seed: 1 }))).toThrow(
      'assign: points and centroids must have the same width (got 3 and 4)',
    );
  });
});
