import { dequantizeVptqLayer, floatTensorToF32, getVptqLayerLayout } from '@vptq/pack-format';
import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

/**
 * CPU twin of the fused VQ-GEMV kernel: `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]` with W the layer's
 * weight from the reference `dequantizeVptqLayer` of `@vptq/pack-format`, summed in f64.
 *
 * @param x - `[tokens, inFeatures]` f32.
 * @returns `[tokens, outFeatures]` f32.
 * @throws {RangeError} when x is not `tokens × inFeatures` long or the config is invalid.
 */
export function vqGemvCpu(config: VptqLayerConfig, tensors: VptqLayerTensors, x: Float32Array, tokens = 1): Float32Array {
  const { inFeatures, outFeatures } = getVptqLayerLayout(config);
  if (!Number.isInteger(tokens) || tokens < 1 || x.length !== tokens * inFeatures) {
    throw new RangeError(`vqGemvCpu: x must hold tokens × inFeatures = ${tokens} × ${inFeatures} values (got ${x.length})`);
  }
  const weight = dequantizeVptqLayer({ config, tensors });
  const bias = config.bias && tensors.bias ? floatTensorToF32(tensors.bias) : undefined;
  const y = new Float32Array(tokens * outFeatures);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = bias === undefined ? 0 : bias[o];
      for (let c = 0; c < inFeatures; c++) sum += x[t * inFeatures + c] * weight[o * inFeatures + c];
      y[t * outFeatures + o] = sum;
    }
  }
  return y;
}
