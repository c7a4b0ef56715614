import { maxAbsDifference, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { runColumnLoop } from './column-loop';
import type { QuantizeColumn } from './column-loop';
import { randomPreparedHessian } from './test/random-layer';

const rows = 6;
const cols = 20;
const prepared = randomPreparedHessian(cols, 3);

// A smooth "quantizer" keeps decisions continuous, so block sizes can only differ by rounding.
const shrink: QuantizeColumn = (_column, working, quantized, offset) => {
  for (let row = 0; row < rows; row++) quantized[offset + row] = 0.5 * working[offset + row] + 0.01;
};

/** Textbook GPTQ without blocks, in f64: after column c, W[:, j] −= (w_c − q_c)/U_cc · U_cj for every j > c. */
function naiveLoop(weight: Float32Array, u: Float64Array, scale?: Float64Array): Float64Array {
  const working = Float64Array.from(weight);
  const quantized = new Float64Array(weight.length);
  for (let c = 0; c < cols; c++) {
    const d = scale === undefined ? 1 : scale[c];
    for (let r = 0; r < rows; r++) {
      quantized[c * rows + r] = Math.fround(0.5 * Math.fround(working[c * rows + r]) + 0.01);
      const error = ((working[c * rows + r] - quantized[c * rows + r]) * d) / u[c * cols + c];
      for (let j = c + 1; j < cols; j++) working[j * rows + r] -= (error * u[c * cols + j]) / (scale === undefined ? 1 : scale[j]);
    }
  }
  return quantized;
}

function run(blockSize: number, columnScale?: Float64Array): { quantized: Float32Array; residual: Float32Array; working: Float32Array } {
  const working = randomFloats(rows * cols, 11);
  const quantized = new Float32Array(rows * cols);
  const residual = new Float32Array(rows * cols);
  runColumnLoop({
    working,
    rows,
    cols,
    inverseCholesky: prepared.inverseCholesky,
    blockSize,
    columnScale,
    quantizeColumn: shrink,
    quantized,
    residual,
  });
  return { quantized, residual, working };
}

describe('runColumnLoop', () => {
  it('matches an unblocked f64 GPTQ loop for any block size', () => {
    const expected = naiveLoop(randomFloats(rows * cols, 11), prepared.inverseCholesky);
    for (const blockSize of [1, 3, 7, 20, 128]) {
      expect(maxAbsDifference(run(blockSize).quantized, expected)).toBeLessThan(1e-5);
    }
  });

  it('propagates with U·D⁻¹ when columns are scaled', () => {
    const scale = Float64Array.from({ length: cols }, (_, c) => 0.5 + (c % 5));
    const expected = naiveLoop(randomFloats(rows * cols, 11), prepared.inverseCholesky, scale);
    expect(maxAbsDifference(run(4, scale).quantized, expected)).toBeLessThan(1e-5);
    expect(maxAbsDifference(run(4).quantized, expected)).toBeGreaterThan(1e-3);
  });

  it('records the error-compensated residual w − q of every column', () => {
    const { quantized, residual, working } = run(5);
    for (let i = 0; i < rows * cols; i++) expect(residual[i]).toBeCloseTo(working[i] - quantized[i], 6);
  });

  it('leaves later columns alone when U is diagonal', () => {
    const u = new Float64Array(cols * cols);
    for (let c = 0; c < cols; c++) u[c * cols + c] = 2;
    const working = randomFloats(rows * cols, 5);
    const original = working.slice();
    const quantized = new Float32Array(rows * cols);
    runColumnLoop({ working, rows, cols, inverseCholesky: u, blockSize: 4, quantizeColumn: shrink, quantized });
    expect(working).toEqual(original);
  });

  it('reports progress once per block', () => {
    const done: number[] = [];
    runColumnLoop({
      working: new Float32Array(rows * cols),
      rows,
      cols,
      inverseCholesky: prepared.inverseCholesky,
      blockSize: 8,
      quantizeColumn: shrink,
      quantized: new Float32Array(rows * cols),
      onBlock: (columns) => done.push(columns),
    });
    expect(done).toEqual([8, 16, 20]);
  });
});
