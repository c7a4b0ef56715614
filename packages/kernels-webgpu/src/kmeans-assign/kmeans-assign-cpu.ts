import { assertCount } from '../validate';

/** Row-major f32 matrix; structurally the same as `Matrix` in @vptq/kmeans. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * CPU twin of the k-means assignment kernel: the index of the nearest centroid (squared Euclidean
 * distance, summed in f64) for every point, ties to the lower index.
 *
 * @param points - `[count, dim]`.
 * @param centroids - `[k, dim]`, k ≥ 1.
 * @returns `[count]` u32.
 * @throws {RangeError} when the widths differ, there are no centroids or a data length is wrong.
 */
export function kmeansAssignCpu(points: Matrix, centroids: Matrix): Uint32Array {
  checkMatrices('kmeansAssignCpu', points, centroids);
  const dim = points.cols;
  const assignments = new Uint32Array(points.rows);
  for (let p = 0; p < points.rows; p++) {
    let best = 0;
    let bestSum = Infinity;
    for (let c = 0; c < centroids.rows; c++) {
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += (points.data[p * dim + i] - centroids.data[c * dim + i]) ** 2;
      if (sum < bestSum) {
        best = c;
        bestSum = sum;
      }
    }
    assignments[p] = best;
  }
  return assignments;
}

/**
 * Validates a points/centroids pair.
 *
 * @throws {RangeError} when the widths differ, there are no centroids or a data length is wrong.
 */
export function checkMatrices(fn: string, points: Matrix, centroids: Matrix): void {
  assertCount(fn, 'centroids.rows', centroids.rows);
  assertCount(fn, 'points.rows', points.rows, 0);
  if (points.cols !== centroids.cols) {
    throw new RangeError(`${fn}: points and centroids must have the same width (got ${points.cols} and ${centroids.cols})`);
  }
  for (const [name, matrix] of [['points', points], ['centroids', centroids]] as const) {
    if (!(matrix.data instanceof Float32Array) || matrix.data.length !== matrix.rows * matrix.cols) {
      throw new RangeError(`${fn}: ${name}.data must be a Float32Array of rows × cols = ${matrix.rows * matrix.cols} (got ${matrix.data?.length})`);
    }
  }
}
