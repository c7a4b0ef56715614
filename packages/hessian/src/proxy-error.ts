import { type SquareMatrix, describe, validateSquareMatrix } from './square-matrix';

/** Row-major `[rows, cols]` weight matrix (f32 or f64), as an `nn.Linear` weight `[out, in]`. */
export interface WeightLike {
  readonly data: Float32Array | Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Normalized proxy error tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) with ΔW = Ŵ − W (spec §1.1), in f64: the fraction of the
 * layer's output energy E‖Wx‖² that quantization loses, to second order. 0 for Ŵ = W. W, Ŵ and H must be in
 * the same column order.
 *
 * @param weight - W, `[out, in]`.
 * @param quantized - Ŵ, `[out, in]`.
 * @param hessian - H, `[in, in]` f64 (or f32) symmetric.
 * @returns The ratio; 0 when both traces are 0, Infinity when only tr(W·H·Wᵀ) is 0.
 * @throws {RangeError} if the shapes disagree.
 */
export function proxyError(
  weight: WeightLike,
  quantized: WeightLike,
  hessian: SquareMatrix | { readonly data: Float32Array; readonly size: number },
): number {
  checkWeight('weight', weight);
  checkWeight('quantized', quantized);
  validateSquareMatrix('proxyError', 'hessian', hessian as SquareMatrix, true);
  if (quantized.rows !== weight.rows || quantized.cols !== weight.cols) {
    throw new RangeError(
      `proxyError: quantized must have the shape of weight (got [${quantized.rows}, ${quantized.cols}] and [${weight.rows}, ${weight.cols}])`,
    );
  }
  const size = hessian.size;
  if (weight.cols !== size) {
    throw new RangeError(`proxyError: hessian.size must equal weight.cols (got ${size} and ${weight.cols})`);
  }
  const h = hessian.data;
  const delta = new Float64Array(size);
  const row = new Float64Array(size);
  let numerator = 0;
  let denominator = 0;
  for (let r = 0; r < weight.rows; r++) {
    const offset = r * size;
    for (let c = 0; c < size; c++) {
      row[c] = weight.data[offset + c];
      delta[c] = quantized.data[offset + c] - weight.data[offset + c];
    }
    for (let i = 0; i < size; i++) {
      const base = i * size;
      let hDelta = 0;
      let hRow = 0;
      for (let j = 0; j < size; j++) {
        hDelta += h[base + j] * delta[j];
        hRow += h[base + j] * row[j];
      }
      numerator += delta[i] * hDelta;
      denominator += row[i] * hRow;
    }
  }
  if (denominator === 0) return numerator === 0 ? 0 : Infinity;
  return numerator / denominator;
}

function checkWeight(name: string, matrix: WeightLike): void {
  const data = (matrix as { data?: unknown } | null | undefined)?.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new TypeError(`proxyError: ${name}.data must be a Float32Array or Float64Array (got ${describe(data)})`);
  }
  if (!Number.isSafeInteger(matrix.rows) || matrix.rows < 0 || !Number.isSafeInteger(matrix.cols) || matrix.cols < 1) {
    throw new RangeError(`proxyError: ${name} must have integer rows ≥ 0 and cols ≥ 1 (got ${matrix.rows} × ${matrix.cols})`);
  }
  if (data.length !== matrix.rows * matrix.cols) {
    throw new RangeError(
      `proxyError: ${name}.data must hold rows × cols values (got ${data.length}, expected ${matrix.rows} × ${matrix.cols})`,
    );
  }
}
