import type { IndexArray, VptqLayerLayout } from '@vptq/pack-format';

/** One range of columns (in quantization order) that shares a codebook: the outlier part or one group. */
export interface VptqPart {
  /** First column of the part. */
  readonly start: number;
  /** Columns in the part. */
  readonly size: number;
  readonly vectorLength: number;
  /** Vectors per column, ceil(rows / vectorLength). */
  readonly vectorRows: number;
  readonly numCentroids: number;
  readonly numResidualCentroids: number;
}

/** The parts of a layout in column order: the outlier part (if any), then the G groups. */
export function listParts(layout: VptqLayerLayout): VptqPart[] {
  const parts: VptqPart[] = [];
  if (layout.outlierSize > 0) {
    parts.push({
      start: 0,
      size: layout.outlierSize,
      vectorLength: layout.outlierVectorLength,
      vectorRows: layout.outlierVectorRows,
      numCentroids: layout.numOutlierCentroids,
      // The reference (and its inference kernels) support no residual codebook on the outlier part.
      numResidualCentroids: 0,
    });
  }
  for (let group = 0; group < layout.groupNum; group++) {
    parts.push({
      start: layout.outlierSize + group * layout.groupSize,
      size: layout.groupSize,
      vectorLength: layout.vectorLength,
      vectorRows: layout.vectorRows,
      numCentroids: layout.numCentroids,
      numResidualCentroids: layout.numResidualCentroids,
    });
  }
  return parts;
}

/** A zeroed `[count]` index array wide enough for indices below `numCentroids`. */
export function createIndexArray(count: number, numCentroids: number): IndexArray {
  return numCentroids <= 65536 ? new Uint16Array(count) : new Uint32Array(count);
}
