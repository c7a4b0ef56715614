import type { GemmTnEpilogue, GemmTnShape } from './gemm-tn';

/**
 * CPU twin of `gemm-tn`, written from the math in f64: `'subtract'` returns a copy of `x` with
 * `x[xOffset + n·ldx + m] −= C[m, n]` (C summed in f64, then rounded once), `'store'` one with
 * `x[xOffset + n·ldx + m] = C[m, n]`; `'quadratic'` returns
 * `Σ_{m,n} C[m, n]·a[aOffset + n·lda + m]` in f64 (what the GPU's per-tile partial sums add up to).
 */
export function gemmTnCpu(a: Float32Array, b: Float32Array, x: Float32Array | undefined, shape: GemmTnShape, epilogue: GemmTnEpilogue): Float32Array | number {
  const { m, n, k, lda, ldb } = shape;
  const ldx = shape.ldx ?? lda;
  const aOffset = shape.aOffset ?? 0;
  const bOffset = shape.bOffset ?? 0;
  const xOffset = shape.xOffset ?? 0;
  const output = epilogue === 'quadratic' ? undefined : Float32Array.from(x as Float32Array);
  let total = 0;
  for (let column = 0; column < n; column++) {
    for (let row = 0; row < m; row++) {
      let sum = 0;
      for (let depth = 0; depth < k; depth++) sum += a[aOffset + depth * lda + row] * b[bOffset + depth * ldb + column];
      if (output !== undefined) output[xOffset + column * ldx + row] = epilogue === 'store' ? sum : output[xOffset + column * ldx + row] - sum;
      else total += sum * a[aOffset + column * lda + row];
    }
  }
  return output ?? total;
}
