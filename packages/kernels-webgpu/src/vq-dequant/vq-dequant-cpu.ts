import { floatTensorToF32, getVptqLayerLayout } from '@vptq/pack-format';
import type { FloatTensor, VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

/**
 * CPU twin of the VQ dequantization kernel, written from the format spec (§5.3–5.4) alone: for output row
 * o and original column c, take the quantized position p = argsort(perm)[c]; outlier columns (p < O) look
 * up `Co[outlier_indices[o / vo][p]][o % vo]`; the others read the tb-bit field s = (p − O) mod S of packed
 * row (g, o / v) bit by bit (LSB-first) and add main and residual centroids; norm gives
 * `w · weight_scale[c] + weight_bias[c]`. Arithmetic is f64, rounded to f32 once.
 *
 * @param config - the layer config.
 * @param tensors - the stored tensors (validated shapes are the caller's job; see `uploadVqLayer`).
 * @returns `[outFeatures, inFeatures]` f32, row-major (the layer bias is not part of W).
 * @throws {RangeError} when the config is invalid.
 */
export function vqDequantizeCpu(config: VptqLayerConfig, tensors: VptqLayerTensors): Float32Array {
  const layout = getVptqLayerLayout(config);
  const { inFeatures, outFeatures, vectorLength, numCentroids, numResidualCentroids, groupSize, outlierSize, vectorRows, rowWords } = layout;
  const widen = (tensor: FloatTensor | undefined) => (tensor === undefined ? undefined : floatTensorToF32(tensor));
  const centroids = floatTensorToF32(tensors.centroids);
  const residualCentroids = layout.hasResidual ? widen(tensors.residualCentroids) : undefined;
  const outlierCentroids = widen(tensors.outlierCentroids);
  const scale = config.enableNorm ? widen(tensors.weightScale) : undefined;
  const shift = config.enableNorm ? widen(tensors.weightBias) : undefined;
  const position = new Uint32Array(inFeatures);
  for (let p = 0; p < inFeatures; p++) position[config.enablePerm ? (tensors.perm as Uint16Array)[p] : p] = p;

  const weight = new Float32Array(outFeatures * inFeatures);
  for (let o = 0; o < outFeatures; o++) {
    for (let c = 0; c < inFeatures; c++) {
      const p = position[c];
      let value: number;
      if (p < outlierSize) {
        const vo = layout.outlierVectorLength;
        const entry = (tensors.outlierIndices as Uint16Array)[Math.floor(o / vo) * outlierSize + p];
        value = (outlierCentroids as Float32Array)[entry * vo + (o % vo)];
      } else {
        const group = Math.floor((p - outlierSize) / groupSize);
        const s = (p - outlierSize) % groupSize;
        const row = group * vectorRows + Math.floor(o / vectorLength);
        const field = readBits(tensors.indices, row * rowWords * 32 + s * layout.totalBits, layout.totalBits);
        const main = field % 2 ** layout.indexBits;
        value = centroids[(group * numCentroids + main) * vectorLength + (o % vectorLength)];
        if (residualCentroids !== undefined) {
          const residual = Math.floor(field / 2 ** layout.indexBits);
          value += residualCentroids[(group * numResidualCentroids + residual) * vectorLength + (o % vectorLength)];
        }
      }
      if (scale !== undefined && shift !== undefined) value = value * scale[c] + shift[c];
      weight[o * inFeatures + c] = value;
    }
  }
  return weight;
}

/** The unsigned value of `count` bits starting at stream bit `start` (bit k = bit k & 31 of word k >> 5). */
function readBits(words: Uint32Array, start: number, count: number): number {
  let value = 0;
  for (let b = 0; b < count; b++) {
    const bit = start + b;
    if ((words[Math.floor(bit / 32)] >>> (bit % 32)) & 1) value += 2 ** b;
  }
  return value;
}
