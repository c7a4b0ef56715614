import { createTestRng, randomMatrix } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { assignNearest } from './assign-nearest';
import { createBoundedAssign } from './create-bounded-assign';
import { kmeans } from './kmeans';
import type { Matrix } from './matrix';

/** Values on a grid of `1 / steps`, so that exact distance ties and duplicate points are common. */
function gridMatrix(rows: number, cols: number, seed: number, steps = 2): Matrix {
  const m = randomMatrix({ rows, cols, seed });
  for (let i = 0; i < m.data.length; i++) m.data[i] = Math.round(m.data[i] * steps) / steps;
  return m;
}

describe('createBoundedAssign', () => {
  it.each([
    [1, 40, false],
    [3, 300, false],
    [8, 350, false],
    [16, 64, false],
    [5, 1000, false],
    [2, 200, true],
    [4, 150, true],
  ])('returns exactly what assignNearest returns, call after call (dim %i, k %i, grid %s)', (dim, k, grid) => {
    const points = grid ? gridMatrix(1500, dim, dim) : randomMatrix({ rows: 1500, cols: dim, seed: dim });
    const centroids = grid ? gridMatrix(k, dim, k) : randomMatrix({ rows: k, cols: dim, seed: k });
    const next = createTestRng(k + dim);
    const assign = createBoundedAssign();
    for (let call = 0; call < 8; call++) {
      expect(assign(points, centroids)).toEqual(assignNearest(points, centroids));
      // Mostly small moves, sometimes a jump, and on grid data moves that keep the values on the grid.
      for (let i = 0; i < centroids.data.length; i++) {
        const jump = next() < 0.02 ? 2 : 0.05;
        const step = (next() * 2 - 1) * jump;
        centroids.data[i] = grid ? Math.round((centroids.data[i] + step) * 2) / 2 : centroids.data[i] + step;
      }
    }
  });

  it('starts over for a different point set or centroid count', () => {
    const assign = createBoundedAssign();
    const centroids = randomMatrix({ rows: 50, cols: 2, seed: 1 });
    const first = randomMatrix({ rows: 100, cols: 2, seed: 2 });
    const second = randomMatrix({ rows: 80, cols: 2, seed: 3 });
    expect(assign(first, centroids)).toEqual(assignNearest(first, centroids));
    expect(assign(second, centroids)).toEqual(assignNearest(second, centroids));
    const fewer = { data: centroids.data.slice(0, 60), rows: 30, cols: 2 };
    expect(assign(second, fewer)).toEqual(assignNearest(second, fewer));
  });

  it('makes kmeans give byte-identical results to kmeans with assignNearest', () => {
    // The last case has under 4 points per centroid, where plain sorted scans replace the bounds.
    for (const [dim, k, grid] of [
      [2, 300, true],
      [6, 64, false],
      [8, 500, false],
      [3, 900, false],
    ] as const) {
      const points = grid ? gridMatrix(2000, dim, 5, 16) : randomMatrix({ rows: 2000, cols: dim, seed: 5 });
      const weights = Float32Array.from({ length: 2000 }, (_, i) => (i % 11 === 0 ? 0 : 1 + (i % 4)));
      const bounded = kmeans(points, k, { weights, maxIterations: 40, tolerance: 0 });
      const plain = kmeans(points, k, { weights, maxIterations: 40, tolerance: 0, assign: assignNearest });
      expect(bounded).toEqual(plain);
    }
  });
});
