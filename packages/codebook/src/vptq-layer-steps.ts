import type { DeviceMatrix, PreparedHessian } from '@vptq/hessian';
import { getVptqLayerLayout } from '@vptq/pack-format';
import type { IndexArray } from '@vptq/pack-format';
import type { Matrix } from '@vptq/kmeans';

import { fillFromAssignments } from './cluster-part';
import type { ClusteredPart } from './cluster-part';
import { CodebookError } from './codebook-error';
import { assertWeightWithExtremes, computeColumnNorm, toOriginalLayout, toWorkingLayout } from './column-norm';
import { planLayer } from './plan-vptq-layer';
import { readPrepared } from './read-prepared';
import { refineSteps } from './refine-vptq';
import type { LoopOutput } from './refine-vptq';
import { assertWeight } from './validate';
import type { VptqKmeansRun, VptqLayerResult } from './vptq-layer-result';
import { readVptqSettings } from './vptq-options';
import type { VptqOptions } from './vptq-options';
import type { VptqPassLayer, VptqPassResult } from './vptq-pass-engine';
import { listParts } from './vptq-parts';
import { clusterStep, measureStep, openLayerStep, passStep } from './vptq-steps';
import type { VptqSteps } from './vptq-steps';

/** One run with its internal trace, for tests and diagnostics. */
export interface VptqRun {
  readonly result: VptqLayerResult;
  /** `[out, in]` f32: the final column loop's output, un-permuted and de-normalized (built on first read). */
  readonly quantizedWeight: Float32Array;
}

/**
 * The VPTQ layer quantizer (see `quantizeVptqLayer`) as a sequence of steps: validation, norm and layout here,
 * k-means, column loops, proxy errors and codebook refits as yielded steps that a driver performs (synchronously on
 * the CPU, or awaited on any engine).
 *
 * @param fn - the public function's name, for error messages.
 */
export function* vptqLayerSteps(fn: string, weight: Matrix, prepared: PreparedHessian<Float64Array | DeviceMatrix>, options: VptqOptions): VptqSteps<VptqRun> {
  // The weight's checks come first, as they always have. With the column norm on (the default; planLayer validates
  // the option just below) they share one read of the weight with the norm's column extremes.
  const extremes = options?.enableNorm === false ? (assertWeight(fn, weight), undefined) : assertWeightWithExtremes(fn, weight);
  const plan = planLayer(fn, weight.rows, weight.cols, options);
  const settings = readVptqSettings(fn, options);
  const inputs = readPrepared(fn, prepared, weight.cols);
  const { rows, cols } = weight;
  const report = settings.onProgress;

  const norm = plan.enableNorm ? computeColumnNorm(weight, settings.storageDtype, extremes) : undefined;
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
  const layer: VptqPassLayer = {
    rows,
    cols,
    start: toWorkingLayout(weight, inputs.perm, inputs.dead, norm),
    inverseCholesky: inputs.inverseCholesky,
    columnScale,
    blockSize: settings.blockSize,
    parts,
    weight,
    hessian: prepared.hessian,
    perm: inputs.perm,
    norm,
  };
  const iterationShare = (phase: 'kmeans' | 'residual-kmeans', done: number, total: number) =>
    report && ((iteration: number) => report(phase, (done + iteration / settings.kmeansIterations) / total));
  const checkFinite = (result: VptqPassResult): void => {
    if (result.nonFinite === undefined) return;
    const { column, value } = result.nonFinite;
    throw new CodebookError(
      'VPTQ_CODEBOOK_NON_FINITE',
      `${fn}: the error feedback overflowed (column ${column} in quantization order became ${value ?? 'non-finite'})`,
    );
  };

  yield* openLayerStep(layer);
  // Part 0 is the outlier part when there is one; the groups follow.
  const first = layout.outlierSize > 0 ? 1 : 0;
  const kmeans: VptqKmeansRun[] = [];
  const recordKmeans = (codebook: 'main' | 'residual', partIndex: number, convergence: ClusteredPart['convergence']) =>
    kmeans.push({ codebook: partIndex < first ? 'outlier' : codebook, group: Math.max(0, partIndex - first), ...convergence });
  const assigned = new Float32Array(cols * rows);
  report?.('kmeans', 0);
  const codebooks: Float32Array[] = [];
  for (let partIndex = 0; partIndex < parts.length; partIndex++) {
    const part = parts[partIndex];
    const request = { count: part.numCentroids, stream: partIndex, onIteration: iterationShare('kmeans', partIndex, parts.length) };
    const { codebook, assignments, convergence } = yield* clusterStep({ source: layer.start, rows, part, sampleWeights, settings, request });
    recordKmeans('main', partIndex, convergence);
    fillFromAssignments(assigned, rows, part, codebook, assignments);
    report?.('kmeans', (partIndex + 1) / parts.length);
    codebooks.push(codebook);
  }
  const before = yield* measureStep(assigned);

  const withResidual = layout.hasResidual;
  const firstPass = yield* passStep({
    codebooks,
    keepResidual: withResidual,
    onFraction: report && ((fraction) => report('column-loop', fraction)),
  });
  checkFinite(firstPass);
  let finalPass: LoopOutput = { codebooks, residualCodebooks: parts.map(() => undefined), result: firstPass };
  let firstPassError: number | undefined;
  if (withResidual) {
    firstPassError = firstPass.proxyError;
    const residualParts = parts.filter((part) => part.numResidualCentroids > 0).length;
    let done = 0;
    report?.('residual-kmeans', 0);
    const residualCodebooks: (Float32Array | undefined)[] = [];
    for (let partIndex = 0; partIndex < parts.length; partIndex++) {
      const part = parts[partIndex];
      if (part.numResidualCentroids === 0) {
        residualCodebooks.push(undefined);
        continue;
      }
      const onIteration = iterationShare('residual-kmeans', done, residualParts);
      const request = { count: part.numResidualCentroids, stream: parts.length + partIndex, onIteration };
      const source = firstPass.residual as Float32Array;
      const { codebook, convergence } = yield* clusterStep({ source, rows, part, sampleWeights, settings, request });
      recordKmeans('residual', partIndex, convergence);
      report?.('residual-kmeans', ++done / residualParts);
      residualCodebooks.push(codebook);
    }
    const secondPass = yield* passStep({
      codebooks,
      residualCodebooks,
      keepResidual: false,
      onFraction: report && ((fraction) => report('column-loop-2', fraction)),
    });
    checkFinite(secondPass);
    finalPass = { codebooks, residualCodebooks, result: secondPass };
  }
  const unrefined = finalPass.result.proxyError;
  let after = unrefined;
  const refinements: number[] = [];

  if (settings.refineIterations > 0) {
    const refined = yield* refineSteps({
      layer,
      storageDtype: settings.storageDtype,
      start: finalPass,
      // The refit always minimizes the error in original units, tr(ΔW'·D·H·D·ΔW'ᵀ), whatever the loop's objective.
      hessian: prepared.hessian,
      hessianScale: norm === undefined ? undefined : Float32Array.from(inputs.perm, (column) => norm.scale[column]),
      withResidual,
      rounds: settings.refineIterations,
      tolerance: settings.refineTolerance,
      checkFinite,
      onFraction: report && ((fraction) => report('refine', fraction)),
    });
    refinements.push(...refined.refinements);
    if (refined.best !== undefined) {
      finalPass = refined.best;
      after = refined.best.result.proxyError;
    }
  }

  const { result: pass } = finalPass;
  const result: VptqLayerResult = {
    config,
    codebooks: finalPass.codebooks.slice(first),
    residualCodebooks: withResidual ? (finalPass.residualCodebooks.slice(first) as Float32Array[]) : [],
    outlierCodebook: first === 1 ? finalPass.codebooks[0] : undefined,
    indices: pass.indices.slice(first),
    residualIndices: withResidual ? (pass.residualIndices.slice(first) as IndexArray[]) : [],
    outlierIndices: first === 1 ? (pass.indices[0] as Uint16Array) : undefined,
    perm: inputs.perm,
    weightScale: norm?.scale,
    weightBias: norm?.bias,
    bias: undefined,
    proxyError: { before, firstPass: firstPassError ?? unrefined, unrefined, refinements, after },
    kmeans,
  };
  let quantizedWeight: Float32Array | undefined;
  return {
    result,
    // Built when read (tests, diagnostics): the quantizer's callers dequantize the packed layer instead.
    get quantizedWeight() {
      quantizedWeight ??= toOriginalLayout(pass.quantized, rows, inputs.perm, norm);
      return quantizedWeight;
    },
  };
}
