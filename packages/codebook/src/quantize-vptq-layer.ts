import type { PreparedHessian } from '@vptq/hessian';
import { getVptqLayerLayout } from '@vptq/pack-format';
import type { IndexArray } from '@vptq/pack-format';
import type { Matrix } from '@vptq/kmeans';

import { clusterPart, fillFromAssignments } from './cluster-part';
import { computeColumnNorm, toOriginalLayout, toWorkingLayout } from './column-norm';
import { planLayer } from './plan-vptq-layer';
import { measureProxyError } from './measure-proxy-error';
import { readPrepared } from './read-prepared';
import { refineVptq, scaleHessian } from './refine-vptq';
import { runVptqPass } from './run-vptq-pass';
import type { VptqPassInput } from './run-vptq-pass';
import { assertWeight } from './validate';
import type { VptqLayerResult } from './vptq-layer-result';
import { readVptqSettings } from './vptq-options';
import type { VptqOptions } from './vptq-options';
import { listParts } from './vptq-parts';

/** One run with its internal trace, for tests and diagnostics. */
export interface VptqRun {
  readonly result: VptqLayerResult;
  /** `[out, in]` f32: the final column loop's output, un-permuted and de-normalized. */
  readonly quantizedWeight: Float32Array;
}

const fn = 'quantizeVptqLayer';

/**
 * Quantizes one linear layer with VPTQ (Liu et al. 2024; spec §2–§4): optional per-column min–max norm, dead
 * columns zeroed, columns in the prepared Hessian's order, an outlier part and G groups, each with a codebook
 * from Hessian-weighted k-means over vectors of v consecutive output rows, then the channel-independent
 * second-order column loop (Euclidean-nearest main index, greedy residual index, GPTQ error feedback in
 * blocks). With a residual codebook, the residual k-means runs on the error-compensated residual of the first
 * loop and the whole loop runs again from the original weight with both codebooks. Then `refineIterations`
 * rounds of codebook refinement: the exact least-squares refit of every codebook for the indices of the last loop
 * (see `refitCodebooks`), rounded to the storage dtype, and the final loop again with the refit codebooks; the
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
  assertWeight(fn, weight);
  const plan = planLayer(fn, weight.rows, weight.cols, options);
  const settings = readVptqSettings(fn, options);
  const inputs = readPrepared(fn, prepared, weight.cols);
  const { rows, cols } = weight;
  const report = settings.onProgress;

  const norm = plan.enableNorm ? computeColumnNorm(weight, settings.storageDtype) : undefined;
  let columnScale: Float64Array | undefined;
  if (norm !== undefined && settings.scaleAwareObjective) {
    columnScale = Float64Array.from(inputs.perm, (column) => norm.scale[column]);
  }
  const sampleWeights = Float64Array.from(inputs.diagonal, (value, position) =>
    columnScale === undefined ? value : value * columnScale[position] * columnScale[position],
  );
  const config = { ...plan, enablePerm: inputs.permuted };
  const layout = getVptqLayerLayout(config);
  const parts = listParts(layout);
  const columnPart = new Uint32Array(cols);
  parts.forEach((part, partIndex) => columnPart.fill(partIndex, part.start, part.start + part.size));
  const pass: VptqPassInput = {
    base: toWorkingLayout(weight, inputs.perm, inputs.dead, norm),
    rows,
    cols,
    inverseCholesky: inputs.inverseCholesky,
    columnScale,
    parts,
    columnPart,
    settings,
  };
  const iterationShare = (phase: 'kmeans' | 'residual-kmeans', done: number, total: number) =>
    report && ((iteration: number) => report(phase, (done + iteration / settings.kmeansIterations) / total));
  const toOriginal = (quantized: Float32Array) => toOriginalLayout(quantized, rows, inputs.perm, norm);

  const assigned = new Float32Array(cols * rows);
  report?.('kmeans', 0);
  const codebooks = parts.map((part, partIndex) => {
    const request = { count: part.numCentroids, stream: partIndex, onIteration: iterationShare('kmeans', partIndex, parts.length) };
    const { codebook, assignments } = clusterPart(pass.base, rows, part, sampleWeights, settings, request);
    fillFromAssignments(assigned, rows, part, codebook, assignments);
    report?.('kmeans', (partIndex + 1) / parts.length);
    return codebook;
  });
  const before = measureProxyError(weight, toOriginal(assigned), prepared);

  const withResidual = layout.hasResidual;
  const firstPass = runVptqPass(pass, codebooks, undefined, withResidual, report && ((fraction) => report('column-loop', fraction)));
  let finalPass = firstPass;
  let residualCodebooks: (Float32Array | undefined)[] = [];
  let firstPassError: number | undefined;
  if (withResidual) {
    firstPassError = measureProxyError(weight, toOriginal(firstPass.quantized), prepared);
    const residualParts = parts.filter((part) => part.numResidualCentroids > 0).length;
    let done = 0;
    report?.('residual-kmeans', 0);
    residualCodebooks = parts.map((part, partIndex) => {
      if (part.numResidualCentroids === 0) return undefined;
      const onIteration = iterationShare('residual-kmeans', done, residualParts);
      const request = { count: part.numResidualCentroids, stream: parts.length + partIndex, onIteration };
      const { codebook } = clusterPart(firstPass.residual as Float32Array, rows, part, sampleWeights, settings, request);
      report?.('residual-kmeans', ++done / residualParts);
      return codebook;
    });
    finalPass = runVptqPass(pass, codebooks, residualCodebooks, false, report && ((fraction) => report('column-loop-2', fraction)));
  }
  let quantizedWeight = toOriginal(finalPass.quantized);
  const unrefined = measureProxyError(weight, quantizedWeight, prepared);
  let after = unrefined;
  const refinements: number[] = [];

  if (settings.refineIterations > 0) {
    const refined = refineVptq({
      pass,
      start: finalPass,
      startError: unrefined,
      // The refit always minimizes the error in original units, tr(ΔW'·D·H·D·ΔW'ᵀ), whatever the loop's objective.
      hessian: scaleHessian(prepared.hessian, cols, norm?.scale, inputs.perm),
      withResidual,
      rounds: settings.refineIterations,
      measure: (quantized) => {
        const candidate = toOriginal(quantized);
        return { weight: candidate, error: measureProxyError(weight, candidate, prepared) };
      },
      onFraction: report && ((fraction) => report('refine', fraction)),
    });
    refinements.push(...refined.refinements);
    if (refined.best !== undefined) {
      ({ pass: finalPass, weight: quantizedWeight, error: after } = refined.best);
    }
  }

  // Part 0 is the outlier part when there is one; the groups follow.
  const outlier = layout.outlierSize > 0 ? finalPass.parts[0] : undefined;
  const groups = finalPass.parts.slice(outlier === undefined ? 0 : 1);
  const result: VptqLayerResult = {
    config,
    codebooks: groups.map((group) => group.codebook),
    residualCodebooks: withResidual ? groups.map((group) => group.residualCodebook as Float32Array) : [],
    outlierCodebook: outlier?.codebook,
    indices: groups.map((group) => group.indices),
    residualIndices: withResidual ? groups.map((group) => group.residualIndices as IndexArray) : [],
    outlierIndices: outlier?.indices as Uint16Array | undefined,
    perm: inputs.perm,
    weightScale: norm?.scale,
    weightBias: norm?.bias,
    bias: undefined,
    proxyError: { before, firstPass: firstPassError ?? unrefined, unrefined, refinements, after },
  };
  return { result, quantizedWeight };
}

