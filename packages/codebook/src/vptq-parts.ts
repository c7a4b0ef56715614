import type { VptqLayout } from './get-vptq-layout';

/** Index storage of one part: 16-bit when the codebook has at most 65536 entries. */
export type IndexArray = Uint16Array | Uint32Array;

/** One range of columns (in quantization order) that shares a codebook: the outlier part or one group. */
export interface VptqPart {
  /** First column of the part. */
  readonly start: number;
  /** Columns in the part. */
  readonly size: number;
  readonly vectorLength: number;
  /** Vectors per column, ceil(rows / vectorLength). */
  readonly vectorRows: number;
  readonly centroids: number;
  readonly residualCentroids: number;
}

/** The parts of a layout in column order: the outlier part (if any), then the G groups. */
export function listParts(layout: VptqLayout): VptqPart[] {
  const parts: VptqPart[] = [];
  if (layout.outlierSize > 0) {
    parts.push({
      start: 0,
      size: layout.outlierSize,
      vectorLength: layout.outlierVectorLength,
      vectorRows: layout.outlierVectorRows,
      centroids: layout.outlierCentroids,
      // The reference (and its inference kernels) support no residual codebook on the outlier part.
      residualCentroids: 0,
    });
  }
  for (let group = 0; group < layout.groups; group++) {
    parts.push({
      start: layout.outlierSize + group * layout.groupSize,
      size: layout.groupSize,
      vectorLength: layout.vectorLength,
      vectorRows: layout.vectorRows,
      centroids: layout.centroids,
      residualCentroids: layout.residualCentroids,
    });
  }
  return parts;
}

/** A zeroed `[count]` index array wide enough for indices below `centroids`. */
export function createIndexArray(count: number, centroids: number): IndexArray {
  return centroids <= 65536 ? new Uint16Array(count) : new Uint32Array(count);
}
