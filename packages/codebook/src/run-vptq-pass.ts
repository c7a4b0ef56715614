import { createNearestCentroidSearch } from '@vptq/kmeans';

import { runColumnLoop } from './column-loop';
import { createVptqColumnQuantizer } from './vptq-column-quantizer';
import type { PartCodebooks } from './vptq-column-quantizer';
import type { VptqPassLayer, VptqPassRequest, VptqPassResult } from './vptq-pass-engine';
import { createIndexArray } from './vptq-parts';

/**
 * One full column loop on the CPU (spec §3) from the layer's normalized weight with fixed codebooks: pass 1 with
 * the main codebooks (keeping the residual for the residual k-means), or pass 2 with main and residual codebooks
 * (also every refinement round). Distances are exact (f64, through `@vptq/kmeans`' sorted search), the lazy
 * update is summed in f64. `onFraction` hears 0, then the share of columns done after each block.
 *
 * @param columnPart - `[in]` index into `layer.parts` of every column.
 * @returns the pass without its proxy error (see `openCpuPassSession`).
 */
export function runVptqPass(layer: VptqPassLayer & { readonly inverseCholesky: Float64Array }, columnPart: Uint32Array, request: VptqPassRequest): Omit<VptqPassResult, 'proxyError'> {
  const { rows, cols, parts } = layer;
  const { codebooks, residualCodebooks, keepResidual, onFraction } = request;
  checkCodebooks(layer, request);
  const partCodebooks: PartCodebooks[] = parts.map((part, partIndex) => {
    const codebook = codebooks[partIndex];
    const residualCodebook = residualCodebooks?.[partIndex];
    const entries = part.vectorRows * part.size;
    const search = createNearestCentroidSearch({ data: codebook, rows: part.numCentroids, cols: part.vectorLength });
    if (residualCodebook === undefined) return { part, codebook, search, indices: createIndexArray(entries, part.numCentroids) };
    return {
      part,
      codebook,
      search,
      residualCodebook,
      residualSearch: createNearestCentroidSearch({ data: residualCodebook, rows: part.numResidualCentroids, cols: part.vectorLength }),
      indices: createIndexArray(entries, part.numCentroids),
      residualIndices: createIndexArray(entries, part.numResidualCentroids),
    };
  });
  // The loop overwrites its working copy, so every pass starts again from the original weight.
  const working = layer.start.slice();
  const quantized = new Float32Array(cols * rows);
  const residual = keepResidual ? new Float32Array(cols * rows) : undefined;
  onFraction?.(0);
  runColumnLoop({
    working,
    rows,
    cols,
    inverseCholesky: layer.inverseCholesky,
    blockSize: layer.blockSize,
    columnScale: layer.columnScale,
    quantizeColumn: createVptqColumnQuantizer(rows, partCodebooks, columnPart),
    quantized,
    residual,
    onBlock: onFraction && ((done) => onFraction(done / cols)),
  });
  // A NaN in the working weight would not fail the search (it picks entry 0), so check explicitly.
  let nonFinite: { column: number; value: number } | undefined;
  for (let i = 0; i < working.length; i++) {
    if (!Number.isFinite(working[i])) {
      nonFinite = { column: Math.floor(i / rows), value: working[i] };
      break;
    }
  }
  return {
    quantized,
    residual,
    indices: partCodebooks.map((entry) => entry.indices),
    residualIndices: partCodebooks.map((entry) => entry.residualIndices),
    nonFinite,
  };
}

/**
 * Checks a pass request against the layer's parts.
 *
 * @throws {RangeError} naming the part when a codebook has the wrong length or a residual codebook is given for a
 *   part without residual entries.
 */
export function checkCodebooks(layer: VptqPassLayer, request: VptqPassRequest): void {
  const fn = 'runPass';
  const { parts } = layer;
  const { codebooks, residualCodebooks } = request;
  if (!Array.isArray(codebooks) || codebooks.length !== parts.length) {
    throw new RangeError(`${fn}: codebooks must hold one codebook per part (got ${codebooks?.length}, parts = ${parts.length})`);
  }
  if (residualCodebooks !== undefined && residualCodebooks.length !== parts.length) {
    throw new RangeError(`${fn}: residualCodebooks must hold one entry per part (got ${residualCodebooks.length}, parts = ${parts.length})`);
  }
  parts.forEach((part, index) => {
    const codebook = codebooks[index];
    if (!(codebook instanceof Float32Array) || codebook.length !== part.numCentroids * part.vectorLength) {
      throw new RangeError(
        `${fn}: codebooks[${index}] must be a Float32Array of [${part.numCentroids}, ${part.vectorLength}] (got ${codebook?.length})`,
      );
    }
    const residual = residualCodebooks?.[index];
    if (residual === undefined) return;
    if (part.numResidualCentroids === 0) {
      throw new RangeError(`${fn}: residualCodebooks[${index}] must be undefined: part ${index} has no residual codebook`);
    }
    if (!(residual instanceof Float32Array) || residual.length !== part.numResidualCentroids * part.vectorLength) {
      throw new RangeError(
        `${fn}: residualCodebooks[${index}] must be a Float32Array of [${part.numResidualCentroids}, ${part.vectorLength}] (got ${residual?.length})`,
      );
    }
  });
}
