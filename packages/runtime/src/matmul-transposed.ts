/** Shape and optional bias of a {@link matmulTransposed} product. */
export interface MatmulTransposedShape {
  /** Rows of `input` (positions in the window), ≥ 1. */
  readonly tokens: number;
  /** Columns of `input` and of `weight`. */
  readonly inFeatures: number;
  /** Rows of `weight` and columns of the result. */
  readonly outFeatures: number;
  /** `[outFeatures]` f32 added to every row of the result. */
  readonly bias?: Float32Array;
}

/**
 * Computes `input · weightᵀ (+ bias)`, the product of a linear layer over a window of tokens.
 *
 * The loop visits each block of four weight rows once for the whole window and keeps a 4 × 4 tile of
 * (token, row) sums in registers, so every weight element loaded serves four tokens and every input element
 * four rows. Sums accumulate in f64 (JS numbers) and are rounded to f32 once.
 *
 * @param input - `[tokens, inFeatures]` f32, row-major.
 * @param weight - `[outFeatures, inFeatures]` f32, row-major (PyTorch `nn.Linear.weight` layout).
 * @returns `[tokens, outFeatures]` f32.
 * @throws {RangeError} if an array length disagrees with the shape.
 */
export function matmulTransposed(input: Float32Array, weight: Float32Array, shape: MatmulTransposedShape): Float32Array {
  const { tokens, inFeatures, outFeatures, bias } = shape;
  for (const [name, value] of [
    ['tokens', tokens],
    ['inFeatures', inFeatures],
    ['outFeatures', outFeatures],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`matmulTransposed: ${name} must be a positive integer (got ${value})`);
    }
  }
  if (input.length !== tokens * inFeatures) {
    throw new RangeError(
      `matmulTransposed: input must hold tokens × inFeatures values (got ${input.length}, expected ${tokens} × ${inFeatures})`,
    );
  }
  if (weight.length !== outFeatures * inFeatures) {
    throw new RangeError(
      `matmulTransposed: weight must hold outFeatures × inFeatures values (got ${weight.length}, expected ${outFeatures} × ${inFeatures})`,
    );
  }
  if (bias !== undefined && bias.length !== outFeatures) {
    throw new RangeError(`matmulTransposed: bias must hold outFeatures values (got ${bias.length}, expected ${outFeatures})`);
  }
  const out = new Float32Array(tokens * outFeatures);
  multiplyBlocks(input, tokens, inFeatures, weight, outFeatures, out);
  if (bias !== undefined) {
    for (let token = 0; token < tokens; token++) {
      const row = token * outFeatures;
      for (let o = 0; o < outFeatures; o++) out[row + o] += bias[o];
    }
  }
  return out;
}

function multiplyBlocks(
  x: Float32Array,
  tokens: number,
  n: number,
  w: Float32Array,
  m: number,
  out: Float32Array,
): void {
  const tokensBy4 = tokens - (tokens % 4);
  const rowsBy4 = m - (m % 4);
  let o = 0;
  for (; o < rowsBy4; o += 4) {
    const w0 = o * n;
    const w1 = w0 + n;
    const w2 = w1 + n;
    const w3 = w2 + n;
    let t = 0;
    for (; t < tokensBy4; t += 4) {
      const a = t * n;
      const b = a + n;
      const c = b + n;
      const d = c + n;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let i = 0; i < n; i++) {
        const v0 = w[w0 + i];
        const v1 = w[w1 + i];
        const v2 = w[w2 + i];
        const v3 = w[w3 + i];
        const xa = x[a + i];
        const xb = x[b + i];
        const xc = x[c + i];
        const xd = x[d + i];
        s00 += xa * v0; s01 += xa * v1; s02 += xa * v2; s03 += xa * v3;
        s10 += xb * v0; s11 += xb * v1; s12 += xb * v2; s13 += xb * v3;
        s20 += xc * v0; s21 += xc * v1; s22 += xc * v2; s23 += xc * v3;
        s30 += xd * v0; s31 += xd * v1; s32 += xd * v2; s33 += xd * v3;
      }
      let p = t * m + o;
      out[p] = s00; out[p + 1] = s01; out[p + 2] = s02; out[p + 3] = s03;
      p += m;
      out[p] = s10; out[p + 1] = s11; out[p + 2] = s12; out[p + 3] = s13;
      p += m;
      out[p] = s20; out[p + 1] = s21; out[p + 2] = s22; out[p + 3] = s23;
      p += m;
      out[p] = s30; out[p + 1] = s31; out[p + 2] = s32; out[p + 3] = s33;
    }
    // Leftover tokens (and the whole single-token decode step) take four rows per pass over the input row.
    for (; t < tokens; t++) {
      const a = t * n;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < n; i++) {
        const xa = x[a + i];
        s0 += xa * w[w0 + i];
        s1 += xa * w[w1 + i];
        s2 += xa * w[w2 + i];
        s3 += xa * w[w3 + i];
      }
      const p = t * m + o;
      out[p] = s0; out[p + 1] = s1; out[p + 2] = s2; out[p + 3] = s3;
    }
  }
  for (; o < m; o++) {
    const w0 = o * n;
    for (let t = 0; t < tokens; t++) {
      const a = t * n;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x[a + i] * w[w0 + i];
      out[t * m + o] = sum;
    }
  }
}
