import type { Matrix } from '@vptq/kmeans';

import { assertCount } from '../validate';

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
