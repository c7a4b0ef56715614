import type { IndexArray } from '@vptq/pack-format';
import type { FloatTensorDtype } from '@vptq/pack-format';

import type { GpuVptqPart } from '../vptq-pass/vptq-pass-types';

// Structural twins of `@vptq/codebook/engine`'s `VptqRefitLayer`, `VptqRefitRequest`, `VptqPartAssignment` and
// `VptqRefitResult`: this package does not depend on @vptq/codebook at run time (the facade wires the GPU engine
// into the quantizer); a type test checks that the GPU engine is assignable to codebook's `VptqRefitEngine`.

/** A layer's constants for every refit; matrices `[in, out]` in quantization order. */
export interface GpuRefitLayer {
  /** `[cols, rows]` f32 target T (the normalized weight, dead columns zero). */
  readonly target: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** `[cols, cols]` f64 SPD weight H̃ = D·H·D of the objective. */
  readonly hessian: Float64Array;
  /** The outlier part (if any), then the groups, in column order. */
  readonly parts: readonly GpuVptqPart[];
  /** The refit codebooks are rounded to this dtype (ties to even). */
  readonly storageDtype: FloatTensorDtype;
}

/** One part's codebooks and the indices a column loop chose with them. */
export interface GpuRefitAssignment {
  /** `[K, v]` f32. */
  readonly codebook: Float32Array;
  /** `[Kr, v]` f32, exactly when the part has residual entries. */
  readonly residualCodebook?: Float32Array;
  /** `[R, size]` main indices. */
  readonly indices: IndexArray;
  /** `[R, size]` residual indices, with `residualCodebook`. */
  readonly residualIndices?: IndexArray;
}

/** One refit's assignments, one per part. */
export interface GpuRefitRequest {
  readonly assignments: readonly GpuRefitAssignment[];
}

/** The refit codebooks per part, f32 values of the storage dtype. */
export interface GpuRefitResult {
  readonly codebooks: Float32Array[];
  readonly residualCodebooks: (Float32Array | undefined)[];
}
