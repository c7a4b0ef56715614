import type { FloatTensorDtype } from '@vptq/pack-format';
import type { Matrix } from '@vptq/kmeans';

import { CodebookError } from './codebook-error';
import { roundToStorage } from './storage-dtype';
import { assertFiniteWeight, assertWeightShape } from './validate';

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
 * @param extremes - the weight's column extremes where {@link assertWeightWithExtremes} already found them;
 *   found here otherwise.
 * @throws {CodebookError} `VPTQ_CODEBOOK_STORAGE_OVERFLOW` when a scale or bias does not fit `dtype`.
 */
export function computeColumnNorm(
  weight: Matrix,
  dtype: FloatTensorDtype,
  extremes: ColumnExtremes = findColumnExtremes(weight),
): ColumnNorm {
  const { low, high } = extremes;
  const cols = weight.cols;
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

/** Each input column's least and greatest value (NaN skipped), and whether the weight holds only finite values. */
export interface ColumnExtremes {
  /** `[in]` column minimum (an f32 value), or Infinity for a column of NaN. */
  readonly low: Float64Array;
  /** `[in]` column maximum (an f32 value), or −Infinity for a column of NaN. */
  readonly high: Float64Array;
  /** False when some value is NaN or ±Infinity. */
  readonly finite: boolean;
}

/**
 * `assertWeight(fn, weight)` and the pass of {@link computeColumnNorm} over the weight, in one read of it (the
 * quantizer's first two reads of every weight, 45M values for a 7B MLP projection, became one): the same checks,
 * the same error for the same first non-finite value, and the extremes that {@link computeColumnNorm} turns into
 * the norm.
 *
 * @throws {TypeError} / {RangeError} exactly as `assertWeight` does.
 */
export function assertWeightWithExtremes(fn: string, weight: Matrix): ColumnExtremes {
  assertWeightShape(fn, weight);
  const extremes = findColumnExtremes(weight);
  // The sweep only learns that some value is bad; the row-major scan finds the first one and throws for it.
  if (!extremes.finite) assertFiniteWeight(fn, weight);
  return extremes;
}

/** The min–max sweep over the weight behind {@link computeColumnNorm}; it also notes whether every value was finite. */
function findColumnExtremes(weight: Matrix): ColumnExtremes {
  const { data, rows, cols } = weight;
  // f64 running extremes hold the f32 values exactly and save a conversion on every load and store.
  const low = new Float64Array(cols).fill(Infinity);
  const high = new Float64Array(cols).fill(-Infinity);
  // w − w is 0 for a finite w and NaN for NaN and ±Infinity, so this sum stays 0 exactly when all are finite. It
  // costs next to nothing here, where a separate finiteness scan costs a read of the whole weight.
  let poison = 0;
  // Row-major (the weight's order), four rows per sweep: each column's extremes are loaded and stored once per four
  // values instead of once per value (about 1.6× faster at 7B sizes). Each column still sees its values in row
  // order with strict comparisons, so ties (0 and −0) keep the first value seen, exactly as one row per sweep does.
  let row = 0;
  for (; row + 3 < rows; row += 4) {
    const base = row * cols;
    for (let col = 0; col < cols; col++) {
      const i = base + col;
      const v0 = data[i];
      const v1 = data[i + cols];
      const v2 = data[i + 2 * cols];
      const v3 = data[i + 3 * cols];
      let lo = low[col];
      let hi = high[col];
      if (v0 < lo) lo = v0;
      if (v0 > hi) hi = v0;
      if (v1 < lo) lo = v1;
      if (v1 > hi) hi = v1;
      if (v2 < lo) lo = v2;
      if (v2 > hi) hi = v2;
      if (v3 < lo) lo = v3;
      if (v3 > hi) hi = v3;
      low[col] = lo;
      high[col] = hi;
      poison += (v0 - v0) + (v1 - v1) + (v2 - v2) + (v3 - v3);
    }
  }
  for (; row < rows; row++) {
    const base = row * cols;
    for (let col = 0; col < cols; col++) {
      const value = data[base + col];
      if (value < low[col]) low[col] = value;
      if (value > high[col]) high[col] = value;
      poison += value - value;
    }
  }
  return { low, high, finite: poison === 0 };
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
  // is written as one contiguous run. Every entry gets the same arithmetic as in a plain loop. Measured at
  // 4096 × 11008 and 4096² against other tilings (column panels, 16 to 256 rows per band, several columns or rows
  // per step) and a norm-free copy loop: none was reliably faster. The loop is bound by memory, and by the page
  // faults of the fresh output (about a third of its time), not by its arithmetic.
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
