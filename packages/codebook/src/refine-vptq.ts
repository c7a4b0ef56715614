import type { DeviceMatrix } from '@vptq/hessian';
import type { FloatTensorDtype, IndexArray } from '@vptq/pack-format';

import type { VptqPartAssignment } from './vptq-refit-engine';
import type { VptqPassLayer, VptqPassResult } from './vptq-pass-engine';
import type { VptqRefitLayer } from './vptq-refit-engine';
import { passStep, refitStep } from './vptq-steps';
import type { VptqSteps } from './vptq-steps';

/** One column loop: the codebooks it ran with and what it produced. */
export interface LoopOutput {
  /** Per part, `[K, v]` f32. */
  readonly codebooks: readonly Float32Array[];
  /** Per part, `[Kr, v]` f32, or undefined where the loop ran without a residual codebook. */
  readonly residualCodebooks: readonly (Float32Array | undefined)[];
  readonly result: VptqPassResult;
}

/** What {@link refineSteps} needs. */
export interface RefineRequest {
  readonly layer: VptqPassLayer;
  readonly storageDtype: FloatTensorDtype;
  /** The final column loop with the k-means codebooks; its proxy error is the one to beat. */
  readonly start: LoopOutput;
  /** `[in, in]` H in quantization order (f64, or on a device): the refit weighs by D·H·D with D = `hessianScale`. */
  readonly hessian: Float64Array | DeviceMatrix;
  /** `[in]` f32 per-column norm scale in quantization order; undefined without norm. */
  readonly hessianScale: Float32Array | undefined;
  /** Whether the loop uses the residual codebooks (pass 2). */
  readonly withResidual: boolean;
  readonly rounds: number;
  /**
   * Stop once two rounds together lowered the best error by less than this fraction of it (0: run every round
   * unless the indices repeat). Two, because a single loop may rise and the next one fall again.
   */
  readonly tolerance: number;
  /** Throws when a loop overflowed (every loop's result goes through it). */
  readonly checkFinite: (result: VptqPassResult) => void;
  readonly onFraction?: (fraction: number) => void;
}

/**
 * Codebook refinement: `rounds` times, refit every codebook by least squares for the indices of the latest loop
 * (a `refit` step: `refitCodebooks` on the CPU, or the driver's refit engine; rounded to the storage dtype), then
 * run the final column loop again with them (new indices, error feedback). A loop need not lower the error (it
 * re-picks indices greedily on error-compensated weights), so every round continues from the latest loop but only the best one is kept. Stops early when a
 * loop picks the same indices as the one before (the next refit would repeat itself), when a refit does not
 * fit the storage dtype, or when two rounds lowered the best error by less than `tolerance` of it.
 *
 * @returns the error after each round's loop, and the best loop when one beat the start's error.
 */
export function* refineSteps(request: RefineRequest): VptqSteps<{ refinements: number[]; best: LoopOutput | undefined }> {
  const { layer, rounds, onFraction } = request;
  const refit: VptqRefitLayer = {
    target: layer.start,
    rows: layer.rows,
    cols: layer.cols,
    hessian: request.hessian,
    hessianScale: request.hessianScale,
    parts: layer.parts,
    storageDtype: request.storageDtype,
  };
  const refinements: number[] = [];
  let best: LoopOutput | undefined;
  let bestError = request.start.result.proxyError;
  let current = request.start;
  // bestAfter[r]: the lowest error after r rounds (the start's at 0).
  const bestAfter = [bestError];
  onFraction?.(0);
  for (let round = 0; round < rounds; round++) {
    const refined = yield* refitStep(refit, { assignments: partAssignments(current) });
    if (refined === undefined) break;
    const residualCodebooks = request.withResidual ? refined.residualCodebooks : undefined;
    const result = yield* passStep({
      codebooks: refined.codebooks,
      residualCodebooks,
      keepResidual: false,
      onFraction: onFraction && ((fraction) => onFraction((round + fraction) / rounds)),
    });
    request.checkFinite(result);
    const next: LoopOutput = { codebooks: refined.codebooks, residualCodebooks: residualCodebooks ?? refined.codebooks.map(() => undefined), result };
    refinements.push(result.proxyError);
    const converged = sameIndices(current.result, result);
    current = next;
    if (result.proxyError < bestError) {
      // Only a loop's own output is ever kept, so the stored indices always belong to the stored codebooks.
      bestError = result.proxyError;
      best = next;
    }
    bestAfter.push(bestError);
    if (converged) break;
    if (round >= 1 && bestError > (1 - request.tolerance) * bestAfter[round - 1]) break;
  }
  onFraction?.(1);
  return { refinements, best };
}

/** The codebooks of a loop with the indices it chose, per part, as a refit reads them. */
export function partAssignments(loop: LoopOutput): VptqPartAssignment[] {
  return loop.codebooks.map((codebook, index) => {
    const residualCodebook = loop.residualCodebooks[index];
    const residualIndices = loop.result.residualIndices[index];
    return residualCodebook === undefined || residualIndices === undefined
      ? { codebook, indices: loop.result.indices[index] }
      : { codebook, residualCodebook, indices: loop.result.indices[index], residualIndices };
  });
}

/** `[in, in]` f64 D·H·D for the diagonal D (`[in]`, same order as H), or H itself (not copied) without one. */
export function scaleHessian(hessian: Float64Array, cols: number, scale: Float32Array | undefined): Float64Array {
  if (scale === undefined) return hessian;
  const scaled = new Float64Array(cols * cols);
  for (let a = 0; a < cols; a++) {
    const left = scale[a];
    for (let b = 0; b < cols; b++) scaled[a * cols + b] = left * hessian[a * cols + b] * scale[b];
  }
  return scaled;
}

function sameIndices(first: VptqPassResult, second: VptqPassResult): boolean {
  return first.indices.every((indices, index) => {
    const residualIndices = first.residualIndices[index];
    const residual = residualIndices === undefined || equalArrays(residualIndices, second.residualIndices[index] as IndexArray);
    return residual && equalArrays(indices, second.indices[index]);
  });
}

function equalArrays(first: IndexArray, second: IndexArray): boolean {
  if (first.length !== second.length) return false;
  for (let i = 0; i < first.length; i++) if (first[i] !== second[i]) return false;
  return true;
}
