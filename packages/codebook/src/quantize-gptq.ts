import type { PreparedHessian } from '@vptq/hessian';
import type { Matrix } from '@vptq/kmeans';

import { runColumnLoop } from './column-loop';
import type { ScalarQuantization, ScalarQuantizationOptions } from './quantize-rtn';
import { hostMatrix, readPrepared } from './read-prepared';
import { computeRowGrid, roundToGrid } from './scalar-grid';
import { assertInteger, assertWeight } from './validate';

/** Options of {@link quantizeGptq}. */
export interface GptqOptions extends ScalarQuantizationOptions {
  /** Columns per lazy-update block. Default 128. */
  readonly blockSize?: number;
}

const fn = 'quantizeGptq';

/**
 * Scalar GPTQ baseline (Frantar et al. 2022) on the same machinery as VPTQ: the per-row asymmetric min–max grid
 * of {@link quantizeRtn} (computed once from the whole weight), dead columns zeroed, columns in the prepared
 * Hessian's order (act-order when its `perm` is on), and the same blocked error feedback with the upper
 * Cholesky factor of H⁻¹.
 *
 * @param weight - `[out, in]` f32.
 * @param prepared - `prepareHessian` of the layer's `[in, in]` input Hessian.
 * @returns the dequantized `[out, in]` weight (original column order) and the per-row grid.
 * @throws {RangeError} for bits outside [1, 16], a bad block size, a malformed weight or a Hessian of the wrong size.
 */
export function quantizeGptq(weight: Matrix, prepared: PreparedHessian, options: GptqOptions): ScalarQuantization {
  assertWeight(fn, weight);
  const bits = assertInteger(fn, 'bits', options?.bits, 1, 16);
  const blockSize = assertInteger(fn, 'blockSize', options.blockSize ?? 128, 1);
  const { rows, cols, data } = weight;
  const inputs = readPrepared(fn, prepared, cols);
  const grid = computeRowGrid(data, rows, cols, bits);
  const levels = 2 ** bits - 1;

  const working = new Float32Array(cols * rows);
  for (let position = 0; position < cols; position++) {
    const column = inputs.perm[position];
    if (inputs.dead[column] === 1) continue;
    for (let row = 0; row < rows; row++) working[position * rows + row] = data[row * cols + column];
  }
  const quantized = new Float32Array(cols * rows);
  runColumnLoop({
    working,
    rows,
    cols,
    inverseCholesky: hostMatrix(fn, 'prepared.inverseCholesky', inputs.inverseCholesky),
    blockSize,
    quantized,
    quantizeColumn: (_column, source, target, offset) => {
      for (let row = 0; row < rows; row++) {
        target[offset + row] = roundToGrid(source[offset + row], grid.scale[row], grid.offset[row], levels);
      }
    },
  });

  const output = new Float32Array(rows * cols);
  for (let position = 0; position < cols; position++) {
    const column = inputs.perm[position];
    for (let row = 0; row < rows; row++) output[row * cols + column] = quantized[position * rows + row];
  }
  return { weight: output, scale: grid.scale, offset: grid.offset, bits };
}
