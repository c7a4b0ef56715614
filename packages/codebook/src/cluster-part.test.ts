import { createTestRng, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { clusterInput, fillFromAssignments } from './cluster-part';
import type { VptqSettings } from './vptq-options';
import type { VptqPart } from './vptq-parts';

/** The vector-at-a-time definitions of the part's k-means input and of the write-back of its assignments. */
function naiveInput(source: Float32Array, rows: number, part: VptqPart, sampleWeights: Float64Array) {
  const { start, size, vectorLength: length, vectorRows } = part;
  const points = new Float32Array(size * vectorRows * length);
  const weights = new Float64Array(size * vectorRows);
  for (let local = 0; local < size; local++) {
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const vector = local * vectorRows + vectorRow;
      const filled = Math.min(length, rows - vectorRow * length);
      for (let t = 0; t < filled; t++) points[vector * length + t] = source[(start + local) * rows + vectorRow * length + t];
      weights[vector] = (sampleWeights[start + local] * filled) / length;
    }
  }
  return { points, weights };
}

function naiveFill(target: Float32Array, rows: number, part: VptqPart, codebook: Float32Array, assignments: Uint32Array): void {
  const { start, size, vectorLength: length, vectorRows } = part;
  for (let local = 0; local < size; local++) {
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const entry = assignments[local * vectorRows + vectorRow];
      for (let t = 0; t < length && vectorRow * length + t < rows; t++) {
        target[(start + local) * rows + vectorRow * length + t] = codebook[entry * length + t];
      }
    }
  }
}

const bytes = (array: Float32Array | Float64Array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

const settings: VptqSettings = {
  scaleAwareObjective: false,
  storageDtype: 'F32',
  kmeansIterations: 10,
  kmeansTolerance: 1e-5,
  kmeansInit: 'random',
  blockSize: 16,
  refineIterations: 0,
  refineTolerance: 0,
  seed: 3,
  onProgress: undefined,
};

// Rows a multiple of the vector length (no padding: one contiguous copy) and not (a padded last vector per column).
const cases: [rows: number, cols: number, vectorLength: number][] = [
  [12, 9, 6],
  [130, 37, 6],
  [130, 37, 8],
  [64, 20, 4],
  [7, 5, 2],
  [5, 3, 6],
  [33, 10, 5],
];

describe('clusterInput / fillFromAssignments', () => {
  for (const [rows, cols, vectorLength] of cases) {
    const vectorRows = Math.ceil(rows / vectorLength);
    // The outlier part at the front and a group after it, so parts start at column 0 and inside the matrix.
    const parts: VptqPart[] = [
      { start: 0, size: 2, vectorLength, vectorRows, numCentroids: 4, numResidualCentroids: 0 },
      { start: 2, size: cols - 2, vectorLength, vectorRows, numCentroids: 4, numResidualCentroids: 0 },
    ];
    it(`equal the vector-at-a-time definitions bit for bit (${rows} × ${cols}, v${vectorLength})`, () => {
      const next = createTestRng(rows * cols + vectorLength);
      const source = randomFloats(rows * cols, rows + cols);
      for (let i = 0; i < source.length; i += 7) source[i] = -0;
      // Sample weights with awkward values, where (w·v)/v does not round back to w (possible unless v is a power
      // of two), so a full vector's weight must be computed, not taken as w; dead columns weigh 0.
      const awkward = (column: number) => {
        let w = 0;
        for (let attempt = 0; attempt < 1000; attempt++) {
          w = 1 / (3 + column + attempt / 7);
          if ((w * vectorLength) / vectorLength !== w) break;
        }
        return w;
      };
      const sampleWeights = Float64Array.from({ length: cols }, (_, column) => (column % 5 === 4 ? 0 : awkward(column)));
      for (const part of parts) {
        const input = clusterInput(source, rows, part, sampleWeights, settings, { count: 4, stream: 1 });
        const expected = naiveInput(source, rows, part, sampleWeights);
        expect(input.points.rows).toBe(part.size * vectorRows);
        expect(input.points.cols).toBe(vectorLength);
        expect(bytes(input.points.data)).toEqual(bytes(expected.points));
        expect(bytes(input.options.weights)).toEqual(bytes(expected.weights));

        const codebook = randomFloats(4 * vectorLength, 9);
        codebook[1] = -0;
        const assignments = Uint32Array.from({ length: part.size * vectorRows }, () => Math.floor(next() * 4));
        const target = new Float32Array(rows * cols).fill(5);
        const reference = target.slice();
        fillFromAssignments(target, rows, part, codebook, assignments);
        naiveFill(reference, rows, part, codebook, assignments);
        expect(bytes(target)).toEqual(bytes(reference));
      }
    });
  }
});
