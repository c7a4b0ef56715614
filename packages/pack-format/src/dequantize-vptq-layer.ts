import { floatTensorToF32, type FloatTensor } from './float-tensor';
import { getVptqLayerLayout } from './get-vptq-layer-layout';
import type { PackedVptqLayer } from './pack-vptq-layer';
import { readField } from './pack-indices';
import { checkVptqLayerTensors } from './vptq-layer-tensors';

/**
 * The reference dequantization: rebuilds the dense weight of one stored layer following the reference
 * `dequant` (spec §5.4). For output row o and original column c, p = invperm[c] with invperm = argsort(perm)
 * (p = c without perm); outlier columns p < O take `Co[outlier_indices[0][o / vo][p]][o % vo]`; the others
 * read field s = (p − O) mod S of packed row (g = (p − O) / S, r = o / v) and take
 * `C[g][f & (2^ib − 1)][o % v]` plus, with a residual, `Cr[g][(f >> ib) & (2^rb − 1)][o % v]`; with norm,
 * `w · weight_scale[c] + weight_bias[c]`. The padding rows o ≥ out are never produced.
 *
 * Arithmetic, from the stored values widened exactly to f32: the main and residual entries are added as an f32
 * addition, then `w · scale + bias` is computed in f64 and rounded to f32. This is the arithmetic of
 * `quantizeVptqLayer` in `@vptq/codebook`, so a layer it produced dequantizes here to exactly the weight whose
 * error its column loop fed back.
 *
 * @param layer - the config and tensors, e.g. from `readVptqLayerTensors` or `packVptqLayer`.
 * @returns W as `[out, in]` row-major f32 (the layer bias is not applied: y = x·Wᵀ + bias).
 * @throws {RangeError} if the config is invalid, a tensor is missing or has the wrong length, perm is not a
 * permutation, or an outlier index is not below Ko.
 * @throws {TypeError} if a tensor has the wrong array type.
 */
export function dequantizeVptqLayer(layer: PackedVptqLayer): Float32Array {
  const { config, tensors } = layer;
  const layout = getVptqLayerLayout(config);
  checkVptqLayerTensors('dequantizeVptqLayer', layout, tensors);
  const { inFeatures, outFeatures, vectorLength, numCentroids, groupSize, outlierSize, vectorRows, rowWords, indexBits, totalBits } = layout;
  const centroids = floatTensorToF32(tensors.centroids);
  const residualCentroids = layout.hasResidual ? floatTensorToF32(tensors.residualCentroids as FloatTensor) : undefined;
  const outlierCentroids = layout.hasOutliers ? floatTensorToF32(tensors.outlierCentroids as FloatTensor) : undefined;
  const scale = config.enableNorm ? floatTensorToF32(tensors.weightScale as FloatTensor) : undefined;
  const shift = config.enableNorm ? floatTensorToF32(tensors.weightBias as FloatTensor) : undefined;

  const inversePerm = new Uint32Array(inFeatures);
  for (let p = 0; p < inFeatures; p++) inversePerm[config.enablePerm ? (tensors.perm as Uint16Array)[p] : p] = p;

  const weight = new Float32Array(outFeatures * inFeatures);
  const mainMask = indexBits >= 32 ? 0xffffffff : 2 ** indexBits - 1;
  const residualCount = layout.numResidualCentroids;
  const outlierVectorLength = layout.outlierVectorLength;
  const outlierIndices = tensors.outlierIndices;
  for (let c = 0; c < inFeatures; c++) {
    const p = inversePerm[c];
    const columnScale = scale === undefined ? 1 : scale[c];
    const columnShift = shift === undefined ? 0 : shift[c];
    if (p < outlierSize) {
      const codebook = outlierCentroids as Float32Array;
      const indices = outlierIndices as Uint16Array;
      for (let o = 0; o < outFeatures; o++) {
        const row = Math.floor(o / outlierVectorLength);
        const value = codebook[indices[row * outlierSize + p] * outlierVectorLength + (o % outlierVectorLength)];
        weight[o * inFeatures + c] = value * columnScale + columnShift;
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
        if (residualCentroids !== undefined) value = Math.fround(value + residualCentroids[residualOffset + j]);
        // value·scale is exact in f64 (24 + 24 bits); the store rounds the sum to f32, as the quantizer does.
        weight[(r * vectorLength + j) * inFeatures + c] = value * columnScale + columnShift;
      }
    }
  }
  return weight;
}
