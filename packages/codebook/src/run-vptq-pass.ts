import { createNearestCentroidSearch } from '@vptq/kmeans';

import { CodebookError } from './codebook-error';
import { runColumnLoop } from './column-loop';
import { createVptqColumnQuantizer } from './vptq-column-quantizer';
import type { PartCodebooks } from './vptq-column-quantizer';
import type { VptqSettings } from './vptq-options';
import { createIndexArray } from './vptq-parts';
import type { VptqPart } from './vptq-parts';

/** Everything one column-loop pass over a layer needs. Matrices are `[in, out]` in quantization order. */
export interface VptqPassInput {
  /** The normalized, permuted weight; copied, never modified. */
  readonly base: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** `[in, in]` f64 upper Cholesky factor of H⁻¹. */
  readonly inverseCholesky: Float64Array;
  /** `[in]` D of the scale-aware objective, or undefined. */
  readonly columnScale: Float64Array | undefined;
  readonly parts: readonly VptqPart[];
  /** `[in]` part of every column. */
  readonly columnPart: Uint32Array;
  readonly settings: VptqSettings;
}

/** The output of {@link runVptqPass}. */
export interface VptqPassOutput {
  /** `[in, out]` f32 quantized weight (normalized units). */
  readonly quantized: Float32Array;
  /** `[in, out]` f32 error-compensated residual, when asked for. */
  readonly residual: Float32Array | undefined;
  /** Codebooks and the indices this pass chose, per part. */
  readonly parts: readonly PartCodebooks[];
}

/**
 * One full column loop (spec §3) from the original normalized weight with fixed codebooks: pass 1 with the
 * main codebooks (keeping the residual for the residual k-means), or pass 2 with main and residual codebooks
 * (also every refinement round). `onFraction` hears 0, then the share of columns done after each block.
 *
 * @throws {CodebookError} `VPTQ_CODEBOOK_NON_FINITE` when the error feedback overflows.
 */
export function runVptqPass(
  input: VptqPassInput,
  codebooks: readonly Float32Array[],
  residualCodebooks: readonly (Float32Array | undefined)[] | undefined,
  keepResidual: boolean,
  onFraction?: (fraction: number) => void,
): VptqPassOutput {
  const { base, rows, cols, parts, settings } = input;
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
  const working = base.slice();
  const quantized = new Float32Array(cols * rows);
  const residual = keepResidual ? new Float32Array(cols * rows) : undefined;
  onFraction?.(0);
  runColumnLoop({
    working,
    rows,
    cols,
    inverseCholesky: input.inverseCholesky,
    blockSize: settings.blockSize,
    columnScale: input.columnScale,
    quantizeColumn: createVptqColumnQuantizer(rows, partCodebooks, input.columnPart),
    quantized,
    residual,
    onBlock: onFraction && ((done) => onFraction(done / cols)),
  });
  // A NaN in the working weight would not fail the search (it picks entry 0), so check explicitly.
  for (let i = 0; i < working.length; i++) {
    if (!Number.isFinite(working[i])) {
      throw new CodebookError(
        'VPTQ_CODEBOOK_NON_FINITE',
        `quantizeVptqLayer: the error feedback overflowed (column ${Math.floor(i / rows)} in quantization order became ${working[i]})`,
      );
    }
  }
  return { quantized, residual, parts: partCodebooks };
}
