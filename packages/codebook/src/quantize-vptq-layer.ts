import type { PreparedHessian } from '@vptq/hessian';
import type { Matrix } from '@vptq/kmeans';

import { openCpuPassSession } from './cpu-vptq-pass-engine';
import type { CpuPassSession } from './cpu-vptq-pass-engine';
import { openCpuRefitSession } from './cpu-vptq-refit-engine';
import type { CpuRefitSession } from './cpu-vptq-refit-engine';
import type { VptqLayerResult } from './vptq-layer-result';
import { vptqLayerSteps } from './vptq-layer-steps';
import type { VptqRun } from './vptq-layer-steps';
import type { VptqOptions } from './vptq-options';
import { performCluster } from './vptq-steps';
import type { VptqSteps } from './vptq-steps';

export type { VptqRun } from './vptq-layer-steps';

/**
 * Quantizes one linear layer with VPTQ (Liu et al. 2024; spec §2–§4): optional per-column min–max norm, dead
 * columns zeroed, columns in the prepared Hessian's order, an outlier part and G groups, each with a codebook
 * from Hessian-weighted k-means over vectors of v consecutive output rows, then the channel-independent
 * second-order column loop (Euclidean-nearest main index, greedy residual index, GPTQ error feedback in
 * blocks). With a residual codebook, the residual k-means runs on the error-compensated residual of the first
 * loop and the whole loop runs again from the original weight with both codebooks. Then `refineIterations`
 * rounds of codebook refinement: the exact least-squares refit of every codebook for the indices of the last loop
 * (see `refitCodebooks`, the CPU refit engine), rounded to the storage dtype, and the final loop again with the refit codebooks; the
 * loop output with the lowest proxy error is returned, so its indices always belong to its codebooks.
 *
 * @param weight - `[out, in]` f32 `nn.Linear` weight, finite.
 * @param prepared - `prepareHessian` of this layer's `[in, in]` input Hessian: its `perm` is the column order
 *   (identity = perm off), its `diagonal` the k-means sample weights, its `inverseCholesky` the loop's factor.
 * @param options - layout (v, K, Kr, outliers, G) and run settings; see {@link VptqOptions}.
 * @returns the unpacked layer (config, codebooks, `[R, S]` indices per group, perm, norm; no bias) and its proxy
 *   errors (`unrefined`, each refinement round and the final `after`); `packVptqLayer` in `@vptq/pack-format`
 *   stores it, and `dequantizeVptqLayer` of the packed layer rebuilds exactly the loop's `[out, in]` weight.
 * @throws {RangeError} for bad options (see `planVptqLayer`), a non-finite weight, or a prepared Hessian of
 *   another size.
 * @throws {CodebookError} `VPTQ_CODEBOOK_NON_FINITE` when the error feedback overflows;
 *   `VPTQ_CODEBOOK_STORAGE_OVERFLOW` when a codebook entry or norm value does not fit `storageDtype`.
 */
export function quantizeVptqLayer(weight: Matrix, prepared: PreparedHessian, options: VptqOptions): VptqLayerResult {
  return runVptq(weight, prepared, options).result;
}

/** {@link quantizeVptqLayer}, also returning the column loop's own output. */
export function runVptq(weight: Matrix, prepared: PreparedHessian, options: VptqOptions): VptqRun {
  return performSync(vptqLayerSteps('quantizeVptqLayer', weight, prepared, options));
}

/** Performs every step synchronously: k-means, the column loop and the refit on the CPU (the reference engines). */
function performSync<T>(steps: VptqSteps<T>): T {
  let session: CpuPassSession | undefined;
  let refitSession: CpuRefitSession | undefined;
  const open = (): CpuPassSession => {
    if (session === undefined) throw new Error('quantizeVptqLayer: a pass step came before the layer was opened');
    return session;
  };
  try {
    let next = steps.next();
    while (next.done !== true) {
      const step = next.value;
      let value: unknown;
      if (step.kind === 'open') session = openCpuPassSession(step.layer);
      else if (step.kind === 'cluster') value = performCluster(step.cluster);
      else if (step.kind === 'pass') value = open().runPass(step.request);
      else if (step.kind === 'refit') {
        refitSession ??= openCpuRefitSession(step.layer);
        value = refitSession.refit(step.request);
      } else value = open().measure(step.quantized);
      next = steps.next(value);
    }
    return next.value;
  } finally {
    refitSession?.close();
    session?.close();
  }
}
