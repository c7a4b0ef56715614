import { assertArray, assertCount } from '../validate';

/**
 * CPU twin of the RMSNorm kernel: `y[r, c] = x[r, c] / sqrt(mean_c(x[r, c]²) + epsilon) · weight[c]`, in f64.
 *
 * @param x - `[rows, cols]` f32.
 * @param weight - `[cols]` f32.
 * @returns `[rows, cols]` f32.
 * @throws {RangeError} when a length does not match the shape or epsilon is negative.
 */
export function rmsNormCpu(
  x: Float32Array,
  weight: Float32Array,
  shape: { readonly rows: number; readonly cols: number },
  epsilon = 1e-5,
): Float32Array {
  const fn = 'rmsNormCpu';
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  assertArray(fn, 'x', x, Float32Array, rows * cols, '[rows, cols]');
  assertArray(fn, 'weight', weight, Float32Array, cols, '[cols]');
  if (!(epsilon >= 0)) throw new RangeError(`${fn}: epsilon must be ≥ 0 (got ${epsilon})`);
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += x[r * cols + c] ** 2;
    const scale = 1 / Math.sqrt(sum / cols + epsilon);
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * scale * weight[c];
  }
  return y;
}
