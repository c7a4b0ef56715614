import type { VptqPassLayer, VptqPassRequest } from '@vptq/codebook/engine';
import type { IndexArray } from '@vptq/pack-format';


/** How far the replayed choices were from the nearest entries. */
export interface ChoiceGaps {
  /** Vectors (main and residual searches) replayed. */
  readonly choices: number;
  /** Searches where the chosen entry was not the f64-nearest one (ties included). */
  readonly notNearest: number;
  /** Largest `d(chosen) − d(nearest)` over all searches, in squared normalized units. */
  readonly largestGap: number;
}

/**
 * Replays a column loop in f64 (the CPU reference's arithmetic, spec §3) but with the indices another engine chose,
 * and measures at every vector how much farther its chosen entry was than the exact nearest one, given the
 * working values that its own earlier choices produced. A correct f32 engine only ever differs from the nearest
 * entry by its rounding (a near-tie); a wrong search (off-by-one entry, wrong codebook, stale working values)
 * shows up as a large gap at once, even where later columns would cascade.
 */
export function replayChoices(
  layer: VptqPassLayer,
  request: VptqPassRequest,
  indices: readonly IndexArray[],
  residualIndices: readonly (IndexArray | undefined)[],
): ChoiceGaps {
  const { rows, cols, parts, columnScale, blockSize } = layer;
  if (!(layer.inverseCholesky instanceof Float64Array)) throw new TypeError('replayChoices: the layer must have a host factor');
  const u = layer.inverseCholesky;
  const scale = (column: number) => (columnScale === undefined ? 1 : columnScale[column]);
  const working = Float64Array.from(layer.start);
  const errors = new Float64Array(blockSize * rows);
  let choices = 0;
  let notNearest = 0;
  let largestGap = 0;
  const nearestGap = (point: Float64Array, codebook: Float32Array, entries: number, length: number, chosen: number): number => {
    let best = Infinity;
    let chosenDistance = Infinity;
    for (let entry = 0; entry < entries; entry++) {
      let sum = 0;
      for (let t = 0; t < length; t++) sum += (point[t] - codebook[entry * length + t]) ** 2;
      if (sum < best) best = sum;
      if (entry === chosen) chosenDistance = sum;
    }
    choices++;
    if (chosenDistance > best || chosen >= entries) notNearest++;
    return chosenDistance - best;
  };
  for (let blockStart = 0; blockStart < cols; blockStart += blockSize) {
    const blockEnd = Math.min(blockStart + blockSize, cols);
    for (let column = blockStart; column < blockEnd; column++) {
      const partIndex = parts.findIndex((part) => column >= part.start && column < part.start + part.size);
      const part = parts[partIndex];
      const length = part.vectorLength;
      const codebook = request.codebooks[partIndex];
      const residual = request.residualCodebooks?.[partIndex];
      const point = new Float64Array(length);
      const remainder = new Float64Array(length);
      for (let vectorRow = 0; vectorRow < part.vectorRows; vectorRow++) {
        const entry = vectorRow * part.size + column - part.start;
        for (let t = 0; t < length; t++) {
          const row = vectorRow * length + t;
          point[t] = row < rows ? working[column * rows + row] : 0;
        }
        const main = indices[partIndex][entry];
        largestGap = Math.max(largestGap, nearestGap(point, codebook, part.numCentroids, length, main));
        const extra = residual === undefined ? 0 : (residualIndices[partIndex] as IndexArray)[entry];
        if (residual !== undefined) {
          for (let t = 0; t < length; t++) remainder[t] = point[t] - codebook[main * length + t];
          largestGap = Math.max(largestGap, nearestGap(remainder, residual, part.numResidualCentroids, length, extra));
        }
        for (let t = 0; t < length; t++) {
          const row = vectorRow * length + t;
          if (row >= rows) continue;
          const q = Math.fround(codebook[main * length + t] + (residual === undefined ? 0 : residual[extra * length + t]));
          errors[(column - blockStart) * rows + row] = ((working[column * rows + row] - q) * scale(column)) / u[column * cols + column];
        }
      }
      for (let later = column + 1; later < cols; later++) {
        // Inside the block at once; after it, the same sum (f64 has no lazy-update rounding to imitate).
        if (later >= blockEnd) break;
        const factor = u[column * cols + later] / scale(later);
        for (let row = 0; row < rows; row++) working[later * rows + row] -= errors[(column - blockStart) * rows + row] * factor;
      }
    }
    for (let later = blockEnd; later < cols; later++) {
      for (let column = blockStart; column < blockEnd; column++) {
        const factor = u[column * cols + later] / scale(later);
        for (let row = 0; row < rows; row++) working[later * rows + row] -= errors[(column - blockStart) * rows + row] * factor;
      }
    }
  }
  return { choices, notNearest, largestGap };
}
