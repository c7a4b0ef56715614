import { floatTensorToF32 } from '@vptq/pack-format';
import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

/**
 * Folds the gain g of the RMSNorm in front of a packed layer into the layer's per-column norm, so that the
 * layer computes `W · diag(g)` and its input needs RMSNorm without gain (which the fused VQ-GEMV can apply
 * itself): VPTQ's `W[o, c] = C[o, c] · scale[c] + shift[c]` becomes `C · (scale[c] · g[c]) + shift[c] · g[c]`,
 * exact up to one f32 rounding per column. A layer without norm gets `scale = g`, `shift = 0`.
 *
 * @param gain - `[inFeatures]` f32.
 * @throws {RangeError} when gain does not hold inFeatures values.
 */
export function foldNormGain(
  config: VptqLayerConfig,
  tensors: VptqLayerTensors,
  gain: Float32Array,
): { config: VptqLayerConfig; tensors: VptqLayerTensors } {
  if (gain.length !== config.inFeatures) throw new RangeError(`foldNormGain: gain must hold inFeatures = ${config.inFeatures} values (got ${gain.length})`);
  const scale = new Float32Array(config.inFeatures);
  const shift = new Float32Array(config.inFeatures);
  const oldScale = config.enableNorm && tensors.weightScale ? floatTensorToF32(tensors.weightScale) : undefined;
  const oldShift = config.enableNorm && tensors.weightBias ? floatTensorToF32(tensors.weightBias) : undefined;
  for (let c = 0; c < config.inFeatures; c++) {
    scale[c] = (oldScale ? oldScale[c] : 1) * gain[c];
    shift[c] = (oldShift ? oldShift[c] : 0) * gain[c];
  }
  return {
    config: { ...config, enableNorm: true },
    tensors: { ...tensors, weightScale: { dtype: 'F32', data: scale }, weightBias: { dtype: 'F32', data: shift } },
  };
}
