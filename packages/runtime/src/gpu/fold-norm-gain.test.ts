import { createSyntheticVqLayer } from '@vptq/kernels-webgpu/bench';
import { dequantizeVptqLayer } from '@vptq/pack-format';
import { describe, expect, it } from 'vitest';

import { createRandom } from '@vptq/kmeans';
import { foldNormGain } from './fold-norm-gain';

describe('foldNormGain', () => {
  const random = createRandom(5);
  const gain = Float32Array.from({ length: 96 }, () => 0.5 + random());

  for (const norm of [true, false]) {
    it(`makes the layer compute W · diag(g) (${norm ? 'with' : 'without'} a stored norm)`, () => {
      const { config, tensors } = createSyntheticVqLayer({ outFeatures: 20, inFeatures: 96, vectorLength: 4, numCentroids: 64, numResidualCentroids: 4, enableNorm: norm, seed: 6 });
      const folded = foldNormGain(config, tensors, gain);
      expect(folded.config.enableNorm).toBe(true);
      const before = dequantizeVptqLayer({ config, tensors });
      const after = dequantizeVptqLayer(folded);
      for (let o = 0; o < 20; o++) {
        for (let c = 0; c < 96; c++) {
          const expected = before[o * 96 + c] * gain[c];
          // One f32 rounding of scale·g and shift·g.
          expect(Math.abs(after[o * 96 + c] - expected)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(expected)));
        }
      }
      // The input tensors are left as they were.
      expect(tensors.weightScale === undefined).toBe(!norm);
    });
  }

  it('rejects a gain of the wrong length', () => {
    const { config, tensors } = createSyntheticVqLayer({ outFeatures: 8, inFeatures: 32, vectorLength: 4, numCentroids: 16 });
    expect(() => foldNormGain(config, tensors, new Float32Array(31))).toThrow(/gain must hold inFeatures = 32 values \(got 31\)/);
  });
});
