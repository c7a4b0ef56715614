import { floatTensorToF32, type FloatTensor } from './float-tensor';
import { getVptqLayerLayout } from './get-vptq-layer-layout';
import { readField } from './pack-indices';
import type { VptqLayerConfig } from './vptq-layer-config';
import { isPermutation, specsFor, type VptqLayerTensors } from './vptq-layer-tensors';

/**
 * Reconstructs the dense weight of one layer from its packed tensors, following the reference `dequant`
 * (spec §5.4) exactly: for output row o and original column c, p = invperm[c] with invperm = argsort(perm)
 * (p = c without perm); outlier columns p < O take `Co[outlier_indices[0][o / vo][p]][o % vo]`; the others
 * read field s = (p − O) mod S of packed row (g = (p − O) / S, r = o / v) and add
 * `C[g][f & (2^ib − 1)][o % v]` and, with a residual, `Cr[g][(f >> ib) & (2^rb − 1)][o % v]`; with norm,
 * `w · weight_scale[c] + weight_bias[c]`. The padding rows o ≥ out are never produced. Each value is
 * computed in f64 from the stored (exactly widened) codebooks and rounded to f32 once.
 *
 * @param config - the layer config.
 * @param tensors - the layer's tensors, as from `readVptqLayerTensors`.
 * @returns W as `[out, in]` row-major f32 (the layer bias is not applied: y = x·Wᵀ + bias).
 * @throws {RangeError} if a tensor is missing or has the wrong length, perm is not a permutation, or an
 * outlier index is not below Ko.
 */
export function dequantizeLayer(config: VptqLayerConfig, tensors: VptqLayerTensors): Float32Array {
  const layout = getVptqLayerLayout(config);
  for (const spec of specsFor(config, layout)) {
    const value = tensors[spec.key];
    const length = value === undefined ? undefined : value instanceof Uint16Array || value instanceof Uint32Array ? value.length : (value as FloatTensor).data?.length;
    const count = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (length !== count) {
      throw new RangeError(`dequantizeLayer: ${spec.key} must hold ${count} values for shape [${spec.shape.join(', ')}] (got ${length ?? 'nothing'})`);
    }
  }
  const { inFeatures, outFeatures, vectorLength, numCentroids, groupSize, outlierSize, vectorRows, rowWords, indexBits, totalBits } = layout;
  const centroids = floatTensorToF32(tensors.centroids);
  const residualCentroids = layout.hasResidual ? floatTensorToF32(tensors.residualCentroids as FloatTensor) : undefined;
  const outlierCentroids = layout.hasOutliers ? floatTensorToF32(tensors.outlierCentroids as FloatTensor) : undefined;
  const scale = config.enableNorm ? floatTensorToF32(tensors.weightScale as FloatTensor) : undefined;
  const bias = config.enableNorm ? floatTensorToF32(tensors.weightBias as FloatTensor) : undefined;

  const inversePerm = new Uint32Array(inFeatures);
  if (config.enablePerm) {
    const perm = tensors.perm as Uint16Array;
    if (!isPermutation(perm)) throw new RangeError(`dequantizeLayer: perm must be a permutation of 0..${inFeatures - 1}`);
    for (let p = 0; p < inFeatures; p++) inversePerm[perm[p]] = p;
  } else {
    for (let c = 0; c < inFeatures; c++) inversePerm[c] = c;
  }

  const outlierIndices = tensors.outlierIndices;
  if (outlierIndices !== undefined) {
    const bad = outlierIndices.findIndex((index) => index >= layout.numOutlierCentroids);
    if (bad >= 0) {
      throw new RangeError(`dequantizeLayer: outlierIndices must be below Ko = ${layout.numOutlierCentroids} (got ${outlierIndices[bad]} at ${bad})`);
    }
  }

  const weight = new Float32Array(outFeatures * inFeatures);
  const mainMask = indexBits >= 32 ? 0xffffffff : 2 ** indexBits - 1;
  const residualCount = layout.numResidualCentroids;
  const outlierVectorLength = layout.outlierVectorLength;
  for (let c = 0; c < inFeatures; c++) {
    const p = inversePerm[c];
    const columnScale = scale === undefined ? 1 : scale[c];
    const columnBias = bias === undefined ? 0 : bias[c];
    if (p < outlierSize) {
      const codebook = outlierCentroids as Float32Array;
      const indices = outlierIndices as Uint16Array;
      for (let o = 0; o < outFeatures; o++) {
        const row = Math.floor(o / outlierVectorLength);
        const value = codebook[indices[row * outlierSize + p] * outlierVectorLength + (o % outlierVectorLength)];
        weight[o * inFeatures + c] = value * columnScale + columnBias;
      }
      continue;
    }
    const group = Math.floor((p - outlierSize) / groupSize);
    const s = (p - outlierSize) % groupSize;
    const mainBase = group * numCentroids * vectorLength;
    const residualBase = group * residualCount * vectorLength;
    for (let r = 0; r < vectorRows; r++) {
      const field = readField(tensors.indices, (group * vectorRows + r) * rowWords, s, totalBits);
      const mainOffset = mainBase + ((field & mainMask) >>> 0) * vectorLength;
      // field < 2^tb, so the shifted value already fits in rb bits (the reference's rb mask is a no-op here).
      const residualOffset = residualBase + (indexBits >= 32 ? 0 : field >>> indexBits) * vectorLength;
      const rowEnd = Math.min(vectorLength, outFeatures - r * vectorLength);
      for (let j = 0; j < rowEnd; j++) {
        let value = centroids[mainOffset + j];
        if (residualCentroids !== undefined) value += residualCentroids[residualOffset + j];
        weight[(r * vectorLength + j) * inFeatures + c] = value * columnScale + columnBias;
      }
    }
  }
  return weight;
}
