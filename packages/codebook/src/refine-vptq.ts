import type { IndexArray } from '@vptq/pack-format';

import { refitCodebooks } from './refit-codebooks';
import { runVptqPass } from './run-vptq-pass';
import type { VptqPassInput, VptqPassOutput } from './run-vptq-pass';
import type { PartCodebooks } from './vptq-column-quantizer';

/** What {@link refineVptq} needs besides the pass input. */
export interface RefineRequest {
  readonly pass: VptqPassInput;
  /** The final column loop with the k-means codebooks. */
  readonly start: VptqPassOutput;
  /** Its proxy error. */
  readonly startError: number;
  /** `[in, in]` f64 D·H·D in quantization order (see {@link scaleHessian}). */
  readonly hessian: Float64Array;
  /** Whether the loop uses the residual codebooks (pass 2). */
  readonly withResidual: boolean;
  readonly rounds: number;
  /** The `[out, in]` weight of a loop output (`[in, out]`, quantization order) and its proxy error. */
  readonly measure: (quantized: Float32Array) => { weight: Float32Array; error: number };
  readonly onFraction?: (fraction: number) => void;
}

/** A loop output with its weight and proxy error. */
export interface RefinedPass {
  readonly pass: VptqPassOutput;
  readonly weight: Float32Array;
  readonly error: number;
}

/**
 * Codebook refinement: `rounds` times, refit every codebook by exact least squares for the indices of the latest
 * loop (`refitCodebooks`, rounded to the storage dtype), then run the final column loop again with them (new
 * indices, error feedback). A loop need not lower the error (it re-picks indices greedily on error-compensated
 * weights), so every round continues from the latest loop but only the best one is kept. Stops early when a
 * loop picks the same indices as the one before (the next refit would repeat itself) or when a refit does not
 * fit the storage dtype.
 *
 * @returns the error after each round's loop, and the best loop output when one beat `startError`.
 */
export function refineVptq(request: RefineRequest): { refinements: number[]; best: RefinedPass | undefined } {
  const { pass, rounds, onFraction } = request;
  const refit = { target: pass.base, rows: pass.rows, cols: pass.cols, hessian: request.hessian, parts: pass.parts };
  const refinements: number[] = [];
  let best: RefinedPass | undefined;
  let bestError = request.startError;
  let current = request.start;
  onFraction?.(0);
  for (let round = 0; round < rounds; round++) {
    const refined = refitCodebooks(refit, current.parts, { storageDtype: pass.settings.storageDtype });
    if (refined === undefined) break;
    const residualCodebooks = request.withResidual ? refined.residualCodebooks : undefined;
    const next = runVptqPass(pass, refined.codebooks, residualCodebooks, false, onFraction && ((fraction) => onFraction((round + fraction) / rounds)));
    const { weight, error } = request.measure(next.quantized);
    refinements.push(error);
    const converged = sameIndices(current.parts, next.parts);
    current = next;
    if (error < bestError) {
      // Only a loop's own output is ever kept, so the stored indices always belong to the stored codebooks.
      bestError = error;
      best = { pass: next, weight, error };
    }
    if (converged) break;
  }
  onFraction?.(1);
  return { refinements, best };
}

/**
 * `[in, in]` f64 D·H·D for the per-column norm scale D (`[in]`, original column order, read through `perm`), or
 * H itself (not copied) without norm.
 */
export function scaleHessian(hessian: Float64Array, cols: number, scale: Float32Array | undefined, perm: Uint32Array): Float64Array {
  if (scale === undefined) return hessian;
  const scaled = new Float64Array(cols * cols);
  for (let a = 0; a < cols; a++) {
    const left = scale[perm[a]];
    for (let b = 0; b < cols; b++) scaled[a * cols + b] = left * hessian[a * cols + b] * scale[perm[b]];
  }
  return scaled;
}

function sameIndices(first: readonly PartCodebooks[], second: readonly PartCodebooks[]): boolean {
  return first.every((part, index) => {
    const other = second[index];
    const residual = part.residualIndices === undefined || equalArrays(part.residualIndices, other.residualIndices as IndexArray);
    return residual && equalArrays(part.indices, other.indices);
  });
}

function equalArrays(first: IndexArray, second: IndexArray): boolean {
  if (first.length !== second.length) return false;
  for (let i = 0; i < first.length; i++) if (first[i] !== second[i]) return false;
  return true;
}
