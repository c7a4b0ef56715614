/** Per-output-row asymmetric uniform grids: value = scale[r] · (q − zero[r]) with integer q in [0, 2^bits − 1]. */
export interface ScalarGrid {
  /** `[rows]` f32 step sizes. */
  readonly scale: Float32Array;
  /** `[rows]` u16 integer zero points in [0, 2^bits − 1]. */
  readonly zero: Uint16Array;
}

/**
 * Min–max grid per row of a `[rows, cols]` matrix, as GPTQ's `Quantizer.find_params` builds it: the range is
 * widened to include 0 (so zero weights stay exact), and an all-zero row gets the range [−1, 1].
 */
export function computeRowGrid(data: Float32Array, rows: number, cols: number, bits: number): ScalarGrid {
  const levels = 2 ** bits - 1;
  const scale = new Float32Array(rows);
  const zero = new Uint16Array(rows);
  for (let row = 0; row < rows; row++) {
    let low = 0;
    let high = 0;
    for (let col = 0; col < cols; col++) {
      const value = data[row * cols + col];
      if (value < low) low = value;
      if (value > high) high = value;
    }
    if (low === 0 && high === 0) {
      low = -1;
      high = 1;
    }
    scale[row] = (high - low) / levels;
    zero[row] = Math.round(-low / scale[row]);
  }
  return { scale, zero };
}

/** The grid point nearest to `value` on a grid with this step, zero point and 2^bits − 1 levels. */
export function roundToGrid(value: number, scale: number, zero: number, levels: number): number {
  const code = Math.min(Math.max(Math.round(value / scale) + zero, 0), levels);
  return Math.fround(scale * (code - zero));
}
