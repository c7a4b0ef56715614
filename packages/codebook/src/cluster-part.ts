import { kmeans } from '@vptq/kmeans';

import { CodebookError } from './codebook-error';
import { roundArrayToStorage } from './storage-dtype';
import type { VptqSettings } from './vptq-options';
import type { VptqPart } from './vptq-parts';

/** One k-means run over a part's vectors: which codebook size, which random stream, and a progress hook. */
export interface ClusterRequest {
  /** Entries of the codebook to build (K, Kr or Ko). */
  readonly count: number;
  /** Distinct per k-means run, so parts and passes never share a random stream. */
  readonly stream: number;
  readonly onIteration?: (iteration: number) => void;
}

/**
 * Hessian-weighted k-means over the vectors of one part (spec §2 step 4). Vector `n = local·R + r` holds rows
 * [r·v, r·v + v) of the part's column `local`, zero-padded, with sample weight `sampleWeights[column]` (H_cc),
 * scaled by the share of real rows for the padded last vector. The residual codebook uses the same per-vector
 * weights (the reference passes per-element weights there, issue #201).
 *
 * @param source - `[in, out]` f32 transposed matrix in quantization order.
 * @param sampleWeights - `[in]` f64 per-column weights in quantization order.
 * @returns the `[count, v]` f32 codebook, rounded to `settings.storageDtype`, and the `[size·R]` k-means
 *   assignments.
 * @throws {CodebookError} `VPTQ_CODEBOOK_NON_FINITE` for a non-finite centroid, `VPTQ_CODEBOOK_STORAGE_OVERFLOW`
 *   for one too large for the storage dtype.
 */
export function clusterPart(
  source: Float32Array,
  rows: number,
  part: VptqPart,
  sampleWeights: Float64Array,
  settings: VptqSettings,
  request: ClusterRequest,
): { codebook: Float32Array; assignments: Uint32Array } {
  const { start, size, vectorLength: length, vectorRows } = part;
  const points = new Float32Array(size * vectorRows * length);
  const weights = new Float64Array(size * vectorRows);
  for (let local = 0; local < size; local++) {
    const offset = (start + local) * rows;
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const vector = local * vectorRows + vectorRow;
      const first = vectorRow * length;
      const filled = Math.min(length, rows - first);
      for (let t = 0; t < filled; t++) points[vector * length + t] = source[offset + first + t];
      weights[vector] = (sampleWeights[start + local] * filled) / length;
    }
  }
  const clustering = kmeans({ data: points, rows: size * vectorRows, cols: length }, request.count, {
    weights,
    init: settings.kmeansInit,
    seed: deriveSeed(settings.seed, request.stream),
    maxIterations: settings.kmeansIterations,
    tolerance: settings.kmeansTolerance,
    onIteration: request.onIteration,
  });
  const codebook = clustering.centroids;
  for (let i = 0; i < codebook.length; i++) {
    if (!Number.isFinite(codebook[i])) {
      throw new CodebookError(
        'VPTQ_CODEBOOK_NON_FINITE',
        `quantizeVptqLayer: k-means produced a non-finite centroid (part starting at column ${start})`,
      );
    }
  }
  roundArrayToStorage(codebook, settings.storageDtype);
  for (let i = 0; i < codebook.length; i++) {
    if (!Number.isFinite(codebook[i])) {
      throw new CodebookError(
        'VPTQ_CODEBOOK_STORAGE_OVERFLOW',
        `quantizeVptqLayer: a centroid of the part starting at column ${start} does not fit ${settings.storageDtype}`,
      );
    }
  }
  return { codebook, assignments: clustering.assignments };
}

/** Writes each vector's assigned entry into `target` (`[in, out]`, padding rows dropped). */
export function fillFromAssignments(
  target: Float32Array,
  rows: number,
  part: VptqPart,
  codebook: Float32Array,
  assignments: Uint32Array,
): void {
  const { start, size, vectorLength: length, vectorRows } = part;
  for (let local = 0; local < size; local++) {
    const offset = (start + local) * rows;
    for (let vectorRow = 0; vectorRow < vectorRows; vectorRow++) {
      const entry = assignments[local * vectorRows + vectorRow] * length;
      const first = vectorRow * length;
      const filled = Math.min(length, rows - first);
      for (let t = 0; t < filled; t++) target[offset + first + t] = codebook[entry + t];
    }
  }
}

function deriveSeed(seed: number, stream: number): number {
  return (seed + Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
}
