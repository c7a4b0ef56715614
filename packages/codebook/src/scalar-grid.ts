/** Per-output-row asymmetric uniform grids: value = offset[r] + scale[r] · q with integer q in [0, 2^bits − 1]. */
export interface ScalarGrid {
  /** `[rows]` f32 step sizes. */
  readonly scale: Float32Array;
  /** `[rows]` f32 lowest grid value (the row minimum). */
  readonly offset: Float32Array;
}

/**
 * Min–max grid per row of a `[rows, cols]` matrix: 2^bits levels from the row's minimum to its maximum, the
 * round-to-nearest baseline of the fixtures (their RTN perplexities were measured with this grid). A constant
 * row gets step 1, so its single value is represented exactly by q = 0.
 */
export function computeRowGrid(data: Float32Array, rows: number, cols: number, bits: number): ScalarGrid {
  const levels = 2 ** bits - 1;
  const scale = new Float32Array(rows);
  const offset = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let low = Infinity;
    let high = -Infinity;
    for (let col = 0; col < cols; col++) {
      const value = data[row * cols + col];
      if (value < low) low = value;
      if (value > high) high = value;
    }
    scale[row] = high > low ? (high - low) / levels : 1;
    offset[row] = low;
  }
  return { scale, offset };
}

/** The grid point nearest to `value` on a grid with this step, offset and 2^bits − 1 levels, as f32. */
export function roundToGrid(value: number, scale: number, offset: number, levels: number): number {
  const code = Math.min(Math.max(Math.round((value - offset) / scale), 0), levels);
  return Math.fround(offset + scale * code);
}
