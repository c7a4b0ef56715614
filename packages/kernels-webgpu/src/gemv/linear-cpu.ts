import { assertArray, assertCount } from '../validate';

/**
 * CPU twin of the GEMV and GEMM kernels: `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]`, summed in f64.
 *
 * @param x - `[tokens, cols]` f32 activations.
 * @param weights - `[rows, cols]` f32 weights (decode f16 bit patterns first).
 * @param shape - `tokens`, `rows` (output features) and `cols` (input features).
 * @param bias - optional `[rows]` f32.
 * @returns `[tokens, rows]` f32.
 * @throws {RangeError} when a length does not match the shape.
 */
export function linearCpu(
  x: Float32Array,
  weights: Float32Array,
  shape: { readonly tokens: number; readonly rows: number; readonly cols: number },
  bias?: Float32Array,
): Float32Array {
  const fn = 'linearCpu';
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const rows = assertCount(fn, 'shape.rows', shape.rows);
  const cols = assertCount(fn, 'shape.cols', shape.cols);
  assertArray(fn, 'x', x, Float32Array, tokens * cols, '[tokens, cols]');
  assertArray(fn, 'weights', weights, Float32Array, rows * cols, '[rows, cols]');
  if (bias !== undefined) assertArray(fn, 'bias', bias, Float32Array, rows, '[rows]');
  const y = new Float32Array(tokens * rows);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < rows; o++) {
      let sum = bias === undefined ? 0 : bias[o];
      for (let c = 0; c < cols; c++) sum += x[t * cols + c] * weights[o * cols + c];
      y[t * rows + o] = sum;
    }
  }
  return y;
}
