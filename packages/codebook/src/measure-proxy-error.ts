import { proxyError } from '@vptq/hessian';

import type { Matrix } from '@vptq/kmeans';

/**
 * `proxyError` of `quantized` against `weight` (both `[out, in]`, original column order) under the prepared
 * Hessian, which is stored in quantization order: the weights are permuted to match it rather than the
 * Hessian un-permuted, which would cost an `[in, in]` copy per call.
 */
export function measureProxyError(
  weight: Matrix,
  quantized: Float32Array,
  prepared: { readonly perm: Uint32Array; readonly hessian: Float64Array; readonly size: number },
): number {
  const { rows, cols } = weight;
  const perm = prepared.perm;
  const original = new Float32Array(rows * cols);
  const approximation = new Float32Array(rows * cols);
  for (let row = 0; row < rows; row++) {
    const offset = row * cols;
    for (let position = 0; position < cols; position++) {
      original[offset + position] = weight.data[offset + perm[position]];
      approximation[offset + position] = quantized[offset + perm[position]];
    }
  }
  return proxyError(
    { data: original, rows, cols },
    { data: approximation, rows, cols },
    { data: prepared.hessian, size: prepared.size },
  );
}
