import type { Matrix } from '../matrix';

/** One k-means problem that needs repairs: grid points with duplicates, zero weights and far starting centroids. */
export interface GridCase {
  readonly points: Matrix;
  readonly k: number;
  readonly weights: Float64Array;
  /** `[k, dim]` centroids far outside the points: clusters are empty at the first step. */
  readonly far: Matrix;
}

/**
 * The next grid case drawn from `next`: dim 1–4, 5–204 points on a half-unit grid in [0, 2] (many duplicates),
 * about a fifth of the weights 0 (never the first), k up to 60.
 */
export function gridCase(next: () => number): GridCase {
  const dim = 1 + Math.floor(next() * 4);
  const count = 5 + Math.floor(next() * 200);
  const k = 1 + Math.floor(next() * Math.min(count, 60));
  const data = Float32Array.from({ length: count * dim }, () => Math.round(next() * 4) / 2);
  const weights = Float64Array.from({ length: count }, (_, i) => (i > 0 && next() < 0.2 ? 0 : next() * 3 + 0.01));
  const far = { data: Float32Array.from({ length: k * dim }, () => next() * 40 - 20), rows: k, cols: dim };
  return { points: { data, rows: count, cols: dim }, k, weights, far };
}
