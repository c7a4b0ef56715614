import type { NearestCentroidSearch } from '@vptq/kmeans';
import type { IndexArray } from '@vptq/pack-format';

import type { QuantizeColumn } from './column-loop';
import type { VptqPart } from './vptq-parts';

/** The codebooks of one part and the index arrays the column loop fills. */
export interface PartCodebooks {
  readonly part: VptqPart;
  /** `[K, v]` f32. */
  readonly codebook: Float32Array;
  /** Exact nearest-entry search over `codebook`. */
  readonly search: NearestCentroidSearch;
  /** `[Kr, v]` f32, only with a residual codebook. */
  readonly residualCodebook?: Float32Array;
  readonly residualSearch?: NearestCentroidSearch;
  /** `[R, size]` main indices; column s of the part is entry `r·size + s`. */
  readonly indices: IndexArray;
  /** `[R, size]` residual indices, only with a residual codebook. */
  readonly residualIndices?: IndexArray;
}

/**
 * The per-column step of the VPTQ loop (spec §3, `quantize_vector`/`quantize_residual_vector`): split the
 * column into R vectors of v rows (the last one zero-padded), take the Euclidean-nearest main entry, then
 * greedily the residual entry nearest to what is left, and write C[i] (+ Cr[j]) without the padding.
 *
 * @param rows - output rows of the layer.
 * @param columnPart - `[cols]` index into `parts` for every column.
 */
export function createVptqColumnQuantizer(rows: number, parts: readonly PartCodebooks[], columnPart: Uint32Array): QuantizeColumn {
  let widest = 1;
  for (const { part } of parts) widest = Math.max(widest, part.vectorLength);
  const point = new Float64Array(widest);
  const remainder = new Float64Array(widest);

  return (column, working, quantized, offset) => {
    const { part, codebook, search, residualCodebook, residualSearch, indices, residualIndices } = parts[columnPart[column]];
    const length = part.vectorLength;
    const local = column - part.start;
    for (let vectorRow = 0; vectorRow < part.vectorRows; vectorRow++) {
      const first = vectorRow * length;
      const filled = Math.min(length, rows - first);
      for (let t = 0; t < filled; t++) point[t] = working[offset + first + t];
      // The reference pads with zeros and searches over all v dimensions, padding included.
      for (let t = filled; t < length; t++) point[t] = 0;

      const main = search.nearest(point, 0);
      indices[vectorRow * part.size + local] = main;
      const mainBase = main * length;
      if (residualCodebook !== undefined && residualSearch !== undefined && residualIndices !== undefined) {
        for (let t = 0; t < length; t++) remainder[t] = point[t] - codebook[mainBase + t];
        const extra = residualSearch.nearest(remainder, 0);
        residualIndices[vectorRow * part.size + local] = extra;
        const extraBase = extra * length;
        for (let t = 0; t < filled; t++) quantized[offset + first + t] = codebook[mainBase + t] + residualCodebook[extraBase + t];
      } else {
        for (let t = 0; t < filled; t++) quantized[offset + first + t] = codebook[mainBase + t];
      }
    }
  };
}
