import type { VptqLayerData } from '@vptq/codebook';
import { floatTensorFromF32, packIndices } from '@vptq/pack-format';
import type { FloatTensorDtype, VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

/** A quantized layer in the packed format's terms. */
export interface PackedLayer {
  readonly config: VptqLayerConfig;
  readonly tensors: VptqLayerTensors;
}

/**
 * Converts the quantizer's result for one linear into the published VPTQ layout (spec §5): config with the
 * reference's -1 "disabled" markers, main and residual indices merged and bit-packed per (group, vector-row),
 * codebooks `[G, K·v]`, outlier indices `[1, Ro, O]` as uint16, perm as uint16, norm in original column order.
 *
 * @param floatDtype - Storage of codebooks and norm vectors. The quantizer must have produced values already
 *   representable in it (its `storageDtype`), so that the packed layer dequantizes to exactly what the column
 *   loop's error feedback assumed.
 * @param bias - `[out]` f32 layer bias (Qwen2 q/k/v), or undefined.
 */
export function toPackedLayer(data: VptqLayerData, floatDtype: FloatTensorDtype, bias?: Float32Array): PackedLayer {
  const c = data.config;
  const hasResidual = c.residualCentroids > 0;
  const hasOutliers = c.outlierSize > 0 && c.outlierCentroids > 0;
  const rows = Math.ceil(c.outFeatures / c.vectorLength);
  const config: VptqLayerConfig = {
    inFeatures: c.inFeatures,
    outFeatures: c.outFeatures,
    vectorLength: c.vectorLength,
    numCentroids: c.centroids,
    numResidualCentroids: hasResidual ? c.residualCentroids : -1,
    outlierVectorLength: hasOutliers ? c.outlierVectorLength : -1,
    numOutlierCentroids: hasOutliers ? c.outlierCentroids : -1,
    groupNum: c.groups,
    groupSize: c.groupSize,
    outlierSize: hasOutliers ? c.outlierSize : 0,
    enableNorm: c.norm,
    enablePerm: c.perm,
    isIndicePacked: true,
    indicesAsFloat: false,
    bias: bias !== undefined,
  };
  const indices = packIndices({
    groups: c.groups,
    rows,
    columns: c.groupSize,
    indexBits: Math.log2(c.centroids),
    residualBits: hasResidual ? Math.log2(c.residualCentroids) : 0,
    main: concat(data.indices, (length) => new Uint32Array(length)),
    residual: hasResidual ? concat(data.residualIndices, (length) => new Uint32Array(length)) : undefined,
  });
  const tensors: VptqLayerTensors = {
    centroids: floatTensorFromF32(concat(data.codebooks, (length) => new Float32Array(length)), floatDtype),
    residualCentroids: hasResidual ? floatTensorFromF32(concat(data.residualCodebooks, (length) => new Float32Array(length)), floatDtype) : undefined,
    outlierCentroids: hasOutliers && data.outlierCodebook ? floatTensorFromF32(data.outlierCodebook, floatDtype) : undefined,
    indices,
    outlierIndices: hasOutliers ? data.outlierIndices : undefined,
    perm: c.perm ? Uint16Array.from(data.perm) : undefined,
    weightScale: c.norm && data.weightScale ? floatTensorFromF32(data.weightScale, floatDtype) : undefined,
    weightBias: c.norm && data.weightBias ? floatTensorFromF32(data.weightBias, floatDtype) : undefined,
    bias: bias ? floatTensorFromF32(bias, floatDtype) : undefined,
  };
  return { config, tensors };
}

/** The parts one after another, in one array of their total length made by `create`. */
function concat<T extends Uint32Array | Float32Array>(parts: readonly ArrayLike<number>[], create: (length: number) => T): T {
  const out = create(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
