import type { FloatTensorDtype } from '@vptq/pack-format';
import type { Matrix } from '@vptq/kmeans';

import { CodebookError } from './codebook-error';
import { roundToStorage } from './storage-dtype';

/** Per-input-column min–max norm (spec §4.4), in original column order. */
export interface ColumnNorm {
  /** `[in]` f32 `max − min`, or 1 for a constant column. */
  readonly scale: Float32Array;
  /** `[in]` f32 column minimum. */
  readonly bias: Float32Array;
}

/**
 * `scale = max − min`, `bias = min` per column of an `[out, in]` weight, rounded to the storage dtype. A
 * constant column would divide by zero (the reference produces NaN there); it gets scale 1 instead, so it
 * normalizes to all zeros and dequantizes to `q + bias`, and the stored scale stays a usable number.
 *
 * @throws {CodebookError} `VPTQ_CODEBOOK_STORAGE_OVERFLOW` when a scale or bias does not fit `dtype`.
 */
export function computeColumnNorm(weight: Matrix, dtype: FloatTensorDtype): ColumnNorm {
  const { data, rows, cols } = weight;
  const low = new Float32Array(cols).fill(Infinity);
  const high = new Float32Array(cols).fill(-Infinity);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const value = data[row * cols + col];
      if (value < low[col]) low[col] = value;
      if (value > high[col]) high[col] = value;
    }
  }
  const scale = new Float32Array(cols);
  const bias = new Float32Array(cols);
  for (let col = 0; col < cols; col++) {
    // A range below the dtype's smallest step rounds to 0 and is treated like a constant column.
    const range = roundToStorage(high[col] - low[col], dtype);
    scale[col] = range > 0 ? range : 1;
    bias[col] = roundToStorage(low[col], dtype);
    if (!Number.isFinite(scale[col]) || !Number.isFinite(bias[col])) {
      throw new CodebookError(
        'VPTQ_CODEBOOK_STORAGE_OVERFLOW',
        `quantizeVptqLayer: column ${col} (min ${low[col]}, max ${high[col]}) does not fit the ${dtype} norm scale and bias`,
      );
    }
  }
  return { scale, bias };
}

/**
 * The weight as the column loop reads it: normalized, `dead` columns zeroed, columns in `perm` order, stored
 * transposed (`[in, out]` f32) so that a column, and every vector in it, is contiguous.
 */
export function toWorkingLayout(weight: Matrix, perm: Uint32Array, dead: Uint8Array, norm: ColumnNorm | undefined): Float32Array {
  const { data, rows, cols } = weight;
  const working = new Float32Array(cols * rows);
  const position = inversePermutation(perm);
  // A transpose: walking the weight a column at a time reads one cache line per row and cost about half a second
  // at 4096² (a third of the GPU path's preparation), so bands of rows are walked row-major and each column's band
  // is written as one contiguous run. Every entry gets the same arithmetic as in a plain loop.
  for (let band = 0; band < rows; band += transposeBand) {
    const end = Math.min(rows, band + transposeBand);
    for (let column = 0; column < cols; column++) {
      if (dead[column] === 1) continue;
      const offset = position[column] * rows;
      const scale = norm === undefined ? 1 : norm.scale[column];
      const bias = norm === undefined ? 0 : norm.bias[column];
      for (let row = band; row < end; row++) working[offset + row] = (data[row * cols + column] - bias) / scale;
    }
  }
  return working;
}

/** Rows per band of the blocked transposes here: 64 rows of 4-byte values, one 256-byte run per column. */
const transposeBand = 64;

/** `[n]` u32: the position of each column in `perm` (which maps positions to columns). */
function inversePermutation(perm: Uint32Array): Uint32Array {
  const inverse = new Uint32Array(perm.length);
  for (let position = 0; position < perm.length; position++) inverse[perm[position]] = position;
  return inverse;
}

/** The inverse of {@link toWorkingLayout} for quantized values: `[in, out]` loop order → `[out, in]` weight. */
export function toOriginalLayout(quantized: Float32Array, rows: number, perm: Uint32Array, norm: ColumnNorm | undefined): Float32Array {
  const cols = perm.length;
  const output = new Float32Array(rows * cols);
  const position = inversePermutation(perm);
  // Blocked like toWorkingLayout: contiguous reads of a column's band, row-major writes.
  for (let band = 0; band < rows; band += transposeBand) {
    const end = Math.min(rows, band + transposeBand);
    for (let column = 0; column < cols; column++) {
      const offset = position[column] * rows;
      const scale = norm === undefined ? 1 : norm.scale[column];
      const bias = norm === undefined ? 0 : norm.bias[column];
      for (let row = band; row < end; row++) {
        output[row * cols + column] = applyNorm(quantized[offset + row], scale, bias, norm !== undefined);
      }
    }
  }
  return output;
}

/**
 * The per-column norm of spec §4.4: `w·scale + bias` computed in f64 and rounded to f32, or `w` itself when
 * norm is off. `dequantizeVptqLayer` in `@vptq/pack-format` uses the same arithmetic, so the quantizer's final
 * weight and the packed layer's dequantization agree bit for bit.
 */
export function applyNorm(value: number, scale: number, bias: number, norm: boolean): number {
  return norm ? Math.fround(value * scale + bias) : value;
}
