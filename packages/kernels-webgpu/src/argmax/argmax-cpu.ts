import { assertCount } from '../validate';

/**
 * CPU twin of the argmax kernel: the index of the largest value of each row, ties to the lowest index, a
 * row of −∞ gives 0 (rows must hold no NaN).
 *
 * @param logits - `[rows, cols]` f32.
 * @returns `[rows]` u32.
 * @throws {RangeError} when the length is not rows × cols.
 */
export function argmaxCpu(logits: Float32Array, shape: { readonly rows: number; readonly cols: number }): Uint32Array {
  const rows = assertCount('argmaxCpu', 'shape.rows', shape.rows);
  const cols = assertCount('argmaxCpu', 'shape.cols', shape.cols);
  if (logits.length !== rows * cols) {
    throw new RangeError(`argmaxCpu: logits must have rows × cols = ${rows * cols} elements (got ${logits.length})`);
  }
  const indices = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = logits[r * cols];
    let bestIndex = 0;
    for (let c = 1; c < cols; c++) {
      const value = logits[r * cols + c];
      if (value > best) {
        best = value;
        bestIndex = c;
      }
    }
    indices[r] = bestIndex;
  }
  return indices;
}
