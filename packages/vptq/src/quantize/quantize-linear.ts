import { planVptqLayer, quantizeGptq, quantizeRtn } from '@vptq/codebook';
import type { VptqLayoutOptions } from '@vptq/codebook';
import { isDeviceMatrix, proxyError } from '@vptq/hessian';
import type { DeviceMatrix, FinalizedHessian, PreparedHessian } from '@vptq/hessian';
import { computeVptqLayerBits, dequantizeVptqLayer, encodeVptqLayerTensors, findReferenceMisreads, packVptqLayer, toVptqLayerConfigJson } from '@vptq/pack-format';
import type { FloatTensorDtype, ReferenceMisread } from '@vptq/pack-format';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import type { LinearSpec } from '@vptq/runtime';

import type { ProjectionSummary } from './layer-checkpoint';
import type { QuantizeBackend } from './quantize-backend';
import type { QuantizeMethod, VptqSettings } from './quantize-options';

/** Everything {@link quantizeLinear} needs besides the weight. */
export interface LinearJob {
  readonly spec: LinearSpec;
  readonly weight: Float32Array;
  readonly bias: Float32Array | undefined;
  /** Host matrices for the scalar baselines; VPTQ takes the backend's `prepareVptqHessian` (maybe on its device). */
  readonly prepared: PreparedHessian<Float64Array | DeviceMatrix>;
  /** The raw E[xxᵀ] in original column order, for the baselines' proxy error (VPTQ does not read it). */
  readonly hessian: FinalizedHessian | undefined;
  readonly method: QuantizeMethod;
  readonly bits: number;
  readonly vptq: Required<VptqSettings>;
  readonly dtype: FloatTensorDtype;
  readonly seed: number;
  /** Where VPTQ runs (the scalar baselines always run on the CPU). */
  readonly backend: QuantizeBackend;
  readonly onProgress?: (phase: string, fraction: number) => void;
}

/** What {@link quantizeLinear} gives for one projection. */
export interface QuantizedLinear {
  /** The tensors of the output model, with their final names. */
  readonly tensors: SafetensorsTensorInput[];
  readonly summary: ProjectionSummary;
  /**
   * `[out, in]` f32 weight the output model multiplies by (the dequantized packed layer, or the baseline's weight);
   * VPTQ's is dequantized on first read (only a run that advances through the quantized layers needs it).
   */
  readonly weight: Float32Array;
}

/** The layout options of `settings` for `planVptqLayer` and `quantizeVptqLayer`. */
export function vptqLayoutOptions(settings: Required<VptqSettings>): VptqLayoutOptions {
  const outliers = settings.outlierPercent > 0;
  return {
    vectorLength: settings.vectorLength,
    numCentroids: settings.numCentroids,
    numResidualCentroids: settings.numResidualCentroids,
    outlierPercent: settings.outlierPercent,
    outlierVectorLength: outliers ? settings.outlierVectorLength : 0,
    numOutlierCentroids: outliers ? settings.numOutlierCentroids : 0,
    groupNum: settings.groupNum,
    enableNorm: settings.enableNorm,
  };
}

/**
 * Checks, before any work starts, that `settings` fit a projection of this shape.
 *
 * @returns the ways the reference implementation would misread the layer (see `findReferenceMisreads`).
 */
export function validateLinear(spec: LinearSpec, settings: Required<VptqSettings>): ReferenceMisread[] {
  try {
    return findReferenceMisreads(planVptqLayer(spec.outFeatures, spec.inFeatures, vptqLayoutOptions(settings)));
  } catch (error) {
    throw new RangeError(`quantize: ${spec.prefix} [${spec.outFeatures}×${spec.inFeatures}]: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Quantizes one projection and returns its tensors (named for the output model), its summary and the weight the
 * output model will compute with: VPTQ gives the packed layer of the published format; the scalar baselines give
 * their dequantized f32 weight (a simulated quantization, which is all a perplexity table needs) and their bit
 * accounting.
 */
export async function quantizeLinear(job: LinearJob): Promise<QuantizedLinear> {
  const { spec } = job;
  const matrix = { data: job.weight, rows: spec.outFeatures, cols: spec.inFeatures };
  if (job.method === 'vptq') {
    const result = await job.backend.quantizeVptq(matrix, job.prepared, {
      ...vptqLayoutOptions(job.vptq),
      kmeansIterations: job.vptq.kmeansIterations,
      refineIterations: job.vptq.refineIterations,
      refineTolerance: job.vptq.refineTolerance,
      storageDtype: job.dtype,
      seed: job.seed,
      onProgress: job.onProgress,
    });
    // The quantizer handles the weight; the layer's bias (Qwen2 q/k/v) is stored beside it at the same dtype.
    const packed = packVptqLayer({ ...result, config: { ...result.config, bias: job.bias !== undefined }, bias: job.bias }, job.dtype);
    const bits = computeVptqLayerBits(packed.config, { floatDtype: job.dtype });
    let weight: Float32Array | undefined;
    return {
      get weight() {
        weight ??= dequantizeVptqLayer(packed);
        return weight;
      },
      tensors: encodeVptqLayerTensors(spec.prefix, packed.config, packed.tensors),
      summary: {
        name: spec.prefix,
        outFeatures: spec.outFeatures,
        inFeatures: spec.inFeatures,
        proxyError: result.proxyError.after,
        proxyErrorStages: result.proxyError,
        kmeans: result.kmeans,
        indexBits: bits.indexBitsPerWeight,
        totalBits: bits.bitsPerWeight,
        layerConfig: toVptqLayerConfigJson(packed.config),
      },
    };
  }
  const { hessian, prepared } = job;
  if (hessian === undefined || isDeviceMatrix(prepared.hessian) || isDeviceMatrix(prepared.inverseCholesky)) {
    throw new TypeError(`quantize: ${spec.prefix}: the ${job.method} baseline needs host Hessians`);
  }
  const scalar =
    job.method === 'gptq'
      ? quantizeGptq(matrix, prepared as PreparedHessian, { bits: job.bits })
      : quantizeRtn(matrix, { bits: job.bits });
  const tensors: SafetensorsTensorInput[] = [
    { name: `${spec.prefix}.weight`, dtype: 'F32', shape: [spec.outFeatures, spec.inFeatures], data: scalar.weight },
  ];
  if (job.bias) tensors.push({ name: `${spec.prefix}.bias`, dtype: 'F32', shape: [spec.outFeatures], data: job.bias });
  return {
    weight: scalar.weight,
    tensors,
    summary: {
      name: spec.prefix,
      outFeatures: spec.outFeatures,
      inFeatures: spec.inFeatures,
      proxyError: proxyError(matrix, { data: scalar.weight, rows: spec.outFeatures, cols: spec.inFeatures }, hessian),
      indexBits: job.bits,
      // Per output row an f16 scale and an f16 offset (the min–max grid's minimum).
      totalBits: job.bits + 32 / spec.inFeatures,
    },
  };
}
