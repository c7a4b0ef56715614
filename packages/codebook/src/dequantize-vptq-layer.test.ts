import { describe, expect, it } from 'vitest';

import { dequantizeVptqLayer } from './dequantize-vptq-layer';
import type { VptqLayerData } from './vptq-layer-result';

/**
 * A 3 × 4 layer by hand: v = 2 (R = 2, one padding row), one outlier column with vo = 3, G = 1 with S = 3,
 * a residual codebook, perm [2, 0, 3, 1] and norm.
 */
function handLayer(): VptqLayerData {
  return {
    config: {
      inFeatures: 4,
      outFeatures: 3,
      vectorLength: 2,
      centroids: 2,
      residualCentroids: 2,
      outlierVectorLength: 3,
      outlierCentroids: 2,
      outlierSize: 1,
      groups: 1,
      groupSize: 3,
      norm: true,
      perm: true,
    },
    codebooks: [new Float32Array([1, 2, 10, 20])],
    residualCodebooks: [new Float32Array([0.5, 0.25, 0, 0])],
    outlierCodebook: new Float32Array([7, 8, 9, 100, 200, 300]),
    // [R = 2, S = 3]: row r holds the index of vector r for group columns s = 0, 1, 2.
    indices: [new Uint16Array([0, 1, 1, 1, 0, 0])],
    residualIndices: [new Uint16Array([0, 1, 0, 1, 1, 0])],
    outlierIndices: new Uint16Array([1]),
    perm: new Uint32Array([2, 0, 3, 1]),
    weightScale: new Float32Array([2, 1, 1, 1]),
    weightBias: new Float32Array([0, 0, 0.5, 0]),
  };
}

describe('dequantizeVptqLayer', () => {
  it('decodes outliers, main + residual entries, perm and norm as spec §5.4', () => {
    // Position 0 (outlier) is column 2: entry 1 = (100, 200, 300), then + bias 0.5.
    // Position 1 (s = 0) is column 0: vector 0 = C0 + Cr0 = (1.5, 2.25), vector 1 = C1 + Cr1 = (10, 20) → rows (1.5, 2.25, 10) × scale 2.
    // Position 2 (s = 1) is column 3: vector 0 = C1 + Cr1 = (10, 20), vector 1 = C0 + Cr1 = (1, 2) → rows (10, 20, 1).
    // Position 3 (s = 2) is column 1: vector 0 = C1 + Cr0 = (10.5, 20.25), vector 1 = C0 + Cr0 = (1.5, 2.25) → rows (10.5, 20.25, 1.5).
    expect(Array.from(dequantizeVptqLayer(handLayer()))).toEqual([
      3, 10.5, 100.5, 10,
      4.5, 20.25, 200.5, 20,
      20, 1.5, 300.5, 1,
    ]);
  });

  it('skips norm and perm when they are off', () => {
    const layer = handLayer();
    const plain: VptqLayerData = {
      ...layer,
      config: { ...layer.config, norm: false, perm: false, residualCentroids: 0 },
      residualCodebooks: [],
      residualIndices: [],
      perm: new Uint32Array([0, 1, 2, 3]),
      weightScale: undefined,
      weightBias: undefined,
    };
    expect(Array.from(dequantizeVptqLayer(plain))).toEqual([100, 1, 10, 10, 200, 2, 20, 20, 300, 10, 1, 1]);
  });

  it('rejects inconsistent layers', () => {
    const layer = handLayer();
    const bad = (patch: Partial<VptqLayerData>, config: Partial<VptqLayerData['config']> = {}) => () =>
      dequantizeVptqLayer({ ...layer, ...patch, config: { ...layer.config, ...config } });
    expect(bad({}, { groupSize: 2 })).toThrow(/outlierSize \+ groups × groupSize must equal inFeatures \(got 1 \+ 1 × 2 ≠ 4\)/);
    expect(bad({}, { centroids: 3 })).toThrow(/config.centroids must be a power of two/);
    expect(bad({ codebooks: [] })).toThrow(/codebooks must be an array of 1 arrays, one per group \(got Array\(0\)\)/);
    expect(bad({ codebooks: [new Float32Array(3)] })).toThrow(/codebooks\[0\] must have length 4 \(got 3\)/);
    expect(bad({ indices: [new Int32Array(6) as never] })).toThrow(/indices\[0\] must be a Uint16Array or Uint32Array/);
    expect(bad({ indices: [new Uint16Array([0, 1, 2, 0, 0, 0])] })).toThrow(/indices\[0\] must be below 2 \(got 2 at 2\)/);
    expect(bad({ residualIndices: [new Uint16Array([0, 0, 0, 0, 0, 5])] })).toThrow(/residualIndices\[0\] must be below 2 \(got 5 at 5\)/);
    expect(bad({ outlierIndices: undefined })).toThrow(/outlierIndices must be a Uint16Array \(got undefined\)/);
    expect(bad({ outlierIndices: new Uint16Array([2]) })).toThrow(/outlierIndices must be below 2/);
    expect(bad({ perm: new Uint32Array([0, 0, 1, 2]) })).toThrow(/perm must be a permutation of 0..3 \(got 0 at position 1\)/);
    expect(bad({ weightScale: undefined })).toThrow(/weightScale must be a Float32Array/);
    expect(bad({}, { norm: 1 as never })).toThrow(TypeError);
    expect(() => dequantizeVptqLayer(null as never)).toThrow(TypeError);
  });
});
