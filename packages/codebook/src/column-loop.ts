/**
 * Writes the quantized values of one column into `quantized[offset .. offset + rows)`, reading the current
 * (error-compensated) values at the same positions of `working`.
 */
export type QuantizeColumn = (column: number, working: Float32Array, quantized: Float32Array, offset: number) => void;

/** Inputs of {@link runColumnLoop}. Matrices are stored transposed: column c of W is `[c·rows, (c+1)·rows)`. */
export interface ColumnLoopInput {
  /** `[cols, rows]` f32, the weight in quantization order; overwritten with error-compensated values. */
  readonly working: Float32Array;
  /** Output rows of the layer (the length of one column). */
  readonly rows: number;
  /** Input columns of the layer. */
  readonly cols: number;
  /** `[cols, cols]` f64 upper Cholesky factor U of H⁻¹, in quantization order. */
  readonly inverseCholesky: Float64Array;
  /** Columns per lazy-update block (GPTQ's B). */
  readonly blockSize: number;
  /**
   * `[cols]` per-column factors d when the objective is `ΔW·D·H·D·ΔWᵀ` (quantized in units divided by d);
   * the loop then uses the factor U·D⁻¹ of (DHD)⁻¹. Undefined means D = I.
   */
  readonly columnScale?: Float64Array;
  readonly quantizeColumn: QuantizeColumn;
  /** `[cols, rows]` f32 output: the quantized weight. */
  readonly quantized: Float32Array;
  /** `[cols, rows]` f32 output, optional: the error-compensated residual `working − quantized` per column. */
  readonly residual?: Float32Array;
  /** Called after each block with the number of columns done. */
  readonly onBlock?: (columnsDone: number) => void;
}

/**
 * The channel-independent second-order loop of VPTQ (paper §3.1, Algorithm 1), which is GPTQ's blocked
 * "lazy batch" loop with one whole column quantized per step: quantize column c, scale its error by 1/U_cc,
 * push it into the rest of the block at once and into later columns once per block. Allocates only its two
 * scratch buffers, never per column.
 */
export function runColumnLoop(input: ColumnLoopInput): void {
  const { working, rows, cols, inverseCholesky: u, blockSize, columnScale, quantizeColumn, quantized, residual } = input;
  const blockErrors = new Float64Array(Math.min(blockSize, cols) * rows);
  const accumulator = new Float64Array(rows);

  for (let blockStart = 0; blockStart < cols; blockStart += blockSize) {
    const blockEnd = Math.min(blockStart + blockSize, cols);

    for (let column = blockStart; column < blockEnd; column++) {
      const offset = column * rows;
      quantizeColumn(column, working, quantized, offset);
      const errorOffset = (column - blockStart) * rows;
      // With D, the factor of (DHD)⁻¹ is U·D⁻¹: its diagonal is U_cc/d_c and its row entries U_cj/d_j.
      const scaleHere = columnScale === undefined ? 1 : columnScale[column];
      const inverseDiagonal = scaleHere / u[column * cols + column];
      for (let row = 0; row < rows; row++) {
        const difference = working[offset + row] - quantized[offset + row];
        if (residual !== undefined) residual[offset + row] = difference;
        blockErrors[errorOffset + row] = difference * inverseDiagonal;
      }
      for (let later = column + 1; later < blockEnd; later++) {
        const factor = u[column * cols + later] / (columnScale === undefined ? 1 : columnScale[later]);
        if (factor === 0) continue;
        const laterOffset = later * rows;
        for (let row = 0; row < rows; row++) working[laterOffset + row] -= blockErrors[errorOffset + row] * factor;
      }
    }

    // Lazy update of the columns after the block: W[:, end:] −= E · U[start:end, end:], summed in f64 and
    // rounded once per entry so the f32 working matrix does not collect one rounding per block column.
    for (let later = blockEnd; later < cols; later++) {
      accumulator.fill(0);
      const inverseScale = columnScale === undefined ? 1 : 1 / columnScale[later];
      for (let column = blockStart; column < blockEnd; column++) {
        const factor = u[column * cols + later] * inverseScale;
        if (factor === 0) continue;
        const errorOffset = (column - blockStart) * rows;
        for (let row = 0; row < rows; row++) accumulator[row] += blockErrors[errorOffset + row] * factor;
      }
      const laterOffset = later * rows;
      for (let row = 0; row < rows; row++) working[laterOffset + row] -= accumulator[row];
    }
    input.onBlock?.(blockEnd);
  }
}
