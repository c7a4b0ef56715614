import { kmeans, kmeansAsync } from '@vptq/kmeans';
import type { KmeansResult } from '@vptq/kmeans';
import type { AsyncKmeansEngineFactory } from '@vptq/kmeans/engine';

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

/** A part's codebook from {@link clusterPart}, with how its k-means converged. */
export interface ClusteredPart {
  readonly codebook: Float32Array;
  readonly assignments: Uint32Array;
  readonly convergence: { readonly iterations: number; readonly converged: boolean; readonly objectives: number[] };
}

/**
 * Hessian-weighted k-means over the vectors of one part (spec §2 step 4). Vector `n = local·R + r` holds rows
 * [r·v, r·v + v) of the part's column `local`, zero-padded, with sample weight `sampleWeights[column]` (H_cc),
 * scaled by the share of real rows for the padded last vector. The residual codebook uses the same per-vector
 * weights (the reference passes per-element weights there, issue #201).
 *
 * @param source - `[in, out]` f32 transposed matrix in quantization order.
 * @param sampleWeights - `[in]` f64 per-column weights in quantization order.
 * @returns the `[count, v]` f32 codebook, rounded to `settings.storageDtype`, the `[size·R]` k-means
 *   assignments and how the k-means converged.
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
): ClusteredPart {
  const { points, options, objectives } = clusterInput(source, rows, part, sampleWeights, settings, request);
  return finishCodebook(kmeans(points, request.count, options), objectives, part, settings);
}

/**
 * {@link clusterPart} with its k-means run by `engine` (`kmeansAsync`), e.g. on the GPU: the same algorithm, the
 * engine doing the per-iteration work that grows with the vectors.
 */
export async function clusterPartAsync(
  source: Float32Array,
  rows: number,
  part: VptqPart,
  sampleWeights: Float64Array,
  settings: VptqSettings,
  request: ClusterRequest,
  engine: AsyncKmeansEngineFactory,
): Promise<ClusteredPart> {
  const { points, options, objectives } = clusterInput(source, rows, part, sampleWeights, settings, request);
  return finishCodebook(await kmeansAsync(points, request.count, { ...options, engine }), objectives, part, settings);
}

/** The vectors of a part with their sample weights, and the k-means options of `request`. Exported for tests. */
export function clusterInput(source: Float32Array, rows: number, part: VptqPart, sampleWeights: Float64Array, settings: VptqSettings, request: ClusterRequest) {
  const { start, size, vectorLength: length, vectorRows } = part;
  // A column's vectors are its rows in order, cut every `length` rows, the last one zero-padded: in `points` each
  // column is its `rows` values followed by the padding, so a column is one contiguous copy (a memcpy; a loop per
  // vector made this about 1.4× slower at 7B sizes). The padding stays as allocated, zero. The copy moves bits, the
  // loop moved f32 values: they differ only for a signaling NaN, which k-means rejects as non-finite either way.
  const stride = vectorRows * length;
  const points = new Float32Array(size * stride);
  if (stride === rows) {
    // No padding (rows a multiple of the vector length): the part's columns are one run of `source`.
    points.set(source.subarray(start * rows, (start + size) * rows));
  } else {
    // Each column's real rows (all `stride` slots but the padding; never more than the column holds).
    const copied = Math.min(rows, stride);
    for (let local = 0; local < size; local++) {
      const from = (start + local) * rows;
      points.set(source.subarray(from, from + copied), local * stride);
    }
  }
  const weights = new Float64Array(size * vectorRows);
  for (let local = 0; local < size; local++) {
    const sampleWeight = sampleWeights[start + local];
    // The same expression for every vector; full vectors, all but (at most) the last, share its value.
    const full = (sampleWeight * length) / length;
    for (let vectorRow = 0, vector = local * vectorRows; vectorRow < vectorRows; vectorRow++, vector++) {
      const filled = Math.min(length, rows - vectorRow * length);
      weights[vector] = filled === length ? full : (sampleWeight * filled) / length;
    }
  }
  const count = size * vectorRows;
  const objectives: number[] = [];
  const onIteration = request.onIteration;
  return {
    points: { data: points, rows: count, cols: length },
    objectives,
    options: {
      weights,
      init: resolveKmeansInit(settings.kmeansInit, count, request.count, length),
      seed: deriveSeed(settings.seed, request.stream),
      maxIterations: settings.kmeansIterations,
      tolerance: settings.kmeansTolerance,
      onIteration: (iteration: number, objective: number) => {
        objectives.push(objective);
        onIteration?.(iteration);
      },
    },
  };
}

/**
 * Most multiply-adds k-means++ may cost under `kmeansInit: 'auto'` (its k passes over the points, `count·k·dim`,
 * in JavaScript): about two seconds. Beyond, random initialization (the reference's) is used: v6-k4096 on a
 * 4096 × 4096 layer would cost 7·10^10, v8-k65536 on 14336 × 4096 4·10^12.
 */
export const kmeansPlusPlusBudget = 2 ** 31;

function resolveKmeansInit(init: VptqSettings['kmeansInit'], count: number, k: number, dim: number): 'random' | 'kmeans++' {
  if (init !== 'auto') return init;
  return count * k * dim <= kmeansPlusPlusBudget ? 'kmeans++' : 'random';
}

/** Checks and rounds the centroids of a finished k-means to the storage dtype. */
function finishCodebook(clustering: KmeansResult, objectives: number[], part: VptqPart, settings: VptqSettings): ClusteredPart {
  const { start } = part;
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
  const { iterations, converged } = clustering;
  return { codebook, assignments: clustering.assignments, convergence: { iterations, converged, objectives } };
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
  // Already about one copy's time a value (2 ns at 4096 × 11008): hoisting the bounds of whole vectors, counting
  // indices up or copying pairs measured no faster; a fresh `target` adds its page faults on top.
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
