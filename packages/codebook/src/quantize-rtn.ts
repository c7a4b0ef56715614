import type { Matrix } from '@vptq/kmeans';

import { computeRowGrid, roundToGrid } from './scalar-grid';
import { assertInteger, assertWeight } from './validate';

/** Options of {@link quantizeRtn} and `quantizeGptq`. */
export interface ScalarQuantizationOptions {
  /** Bits per weight, 1 to 16. */
  readonly bits: number;
}

/**
 * A scalar-quantized weight: the dequantized values plus the per-row grid that bits-per-weight accounting
 * needs (`bits` per weight plus one scale and one offset per output row). Every value is
 * `f32(offset[r] + scale[r] · q)` with an integer code q in [0, 2^bits − 1].
 */
export interface ScalarQuantization {
  /** `[rows, cols]` f32 dequantized weight, original column order. */
  readonly weight: Float32Array;
  /** `[rows]` f32 grid steps. */
  readonly scale: Float32Array;
  /** `[rows]` f32 grid offsets (the row minimum): the value of code 0. */
  readonly offset: Float32Array;
  readonly bits: number;
}

/**
 * Round-to-nearest baseline: every output row gets an asymmetric min–max grid of 2^bits levels from its minimum
 * to its maximum, and every weight is rounded to its nearest grid point independently. This is the baseline of
 * the fixtures' README (same perplexities on stories260K).
 *
 * @param weight - `[out, in]` f32.
 * @throws {RangeError} when bits is not an integer in [1, 16] or the weight is malformed or not finite.
 */
export function quantizeRtn(weight: Matrix, options: ScalarQuantizationOptions): ScalarQuantization {
  assertWeight('quantizeRtn', weight);
  const bits = assertInteger('quantizeRtn', 'bits', options?.bits, 1, 16);
  const { rows, cols, data } = weight;
  const grid = computeRowGrid(data, rows, cols, bits);
  const levels = 2 ** bits - 1;
  const output = new Float32Array(rows * cols);
  for (let row = 0; row < rows; row++) {
    const scale = grid.scale[row];
    const offset = grid.offset[row];
    for (let col = 0; col < cols; col++) output[row * cols + col] = roundToGrid(data[row * cols + col], scale, offset, levels);
  }
  return { weight: output, scale: grid.scale, offset: grid.offset, bits };
}
