import { hessianBlockTokens } from './hessian-accumulator';

/**
 * Adds the first `tokens` tokens of a column-major block (`[n, hessianBlockTokens]` f64) into the upper
 * triangle of `sumOuter` and into `sum`. Each entry gets one f64 dot product over the block, so the order of
 * additions depends only on the block boundaries, never on how callers batched the tokens.
 */
export function addBlock(
  block: Float64Array,
  tokens: number,
  columns: number,
  sumOuter: Float64Array,
  sum: Float64Array,
): void {
  const stride = hessianBlockTokens;
  for (let i = 0; i < columns; i++) {
    const oi = i * stride;
    let s = 0;
    for (let t = 0; t < tokens; t++) s += block[oi + t];
    sum[i] += s;
  }
  // 2×2 register blocking: each loaded value feeds two multiply-adds.
  let i = 0;
  for (; i + 1 < columns; i += 2) {
    const a0 = i * stride;
    const a1 = a0 + stride;
    const row0 = i * columns;
    const row1 = row0 + columns;
    {
      // The diagonal 2×2 tile: (i, i), (i, i+1), (i+1, i+1).
      let s00 = 0;
      let s01 = 0;
      let s11 = 0;
      for (let t = 0; t < tokens; t++) {
        const x0 = block[a0 + t];
        const x1 = block[a1 + t];
        s00 += x0 * x0;
        s01 += x0 * x1;
        s11 += x1 * x1;
      }
      sumOuter[row0 + i] += s00;
      sumOuter[row0 + i + 1] += s01;
      sumOuter[row1 + i + 1] += s11;
    }
    let j = i + 2;
    for (; j + 1 < columns; j += 2) {
      const b0 = j * stride;
      const b1 = b0 + stride;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < tokens; t++) {
        const x0 = block[a0 + t];
        const x1 = block[a1 + t];
        const y0 = block[b0 + t];
        const y1 = block[b1 + t];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      sumOuter[row0 + j] += s00;
      sumOuter[row0 + j + 1] += s01;
      sumOuter[row1 + j] += s10;
      sumOuter[row1 + j + 1] += s11;
    }
    if (j < columns) {
      const b0 = j * stride;
      let s0 = 0;
      let s1 = 0;
      for (let t = 0; t < tokens; t++) {
        const y0 = block[b0 + t];
        s0 += block[a0 + t] * y0;
        s1 += block[a1 + t] * y0;
      }
      sumOuter[row0 + j] += s0;
      sumOuter[row1 + j] += s1;
    }
  }
  if (i < columns) {
    const a0 = i * stride;
    let s = 0;
    for (let t = 0; t < tokens; t++) s += block[a0 + t] * block[a0 + t];
    sumOuter[i * columns + i] += s;
  }
}
