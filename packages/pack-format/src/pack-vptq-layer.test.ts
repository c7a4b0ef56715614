import { randomPermutation } from '@vptq/kmeans';
import { createTestRng } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { dequantizeVptqLayer } from './dequantize-vptq-layer';
import { f16BitsToF32, f32ToF16Bits } from './f16-bits';
import { packVptqLayer, unpackVptqLayer } from './pack-vptq-layer';
import type { VptqLayerConfig } from './vptq-layer-config';
import type { VptqLayerData } from './vptq-layer-data';
import { specLayerConfig } from './test/spec-layer-config';

// The spec's own verification case (§5, "I verified this spec numerically").
const config = specLayerConfig;

/** A random layer whose float values are exact in F16, so packing at F16 loses nothing. */
function randomLayer(layerConfig: VptqLayerConfig, seed: number): VptqLayerData {
  const next = createTestRng(seed);
  const integer = (limit: number) => Math.floor(next() * limit);
  const f16Values = (count: number, scale: number) => Float32Array.from({ length: count }, () => f16BitsToF32(f32ToF16Bits((next() * 2 - 1) * scale)));
  const { groupNum, vectorLength, numCentroids, numResidualCentroids, groupSize, outlierSize, inFeatures, outFeatures } = layerConfig;
  const rows = Math.ceil(outFeatures / vectorLength);
  const perm = layerConfig.enablePerm ? randomPermutation(inFeatures, next) : Uint32Array.from({ length: inFeatures }, (_, i) => i);
  const perGroup = <T>(make: () => T): T[] => Array.from({ length: groupNum }, make);
  const residual = numResidualCentroids > 0;
  const outliers = layerConfig.numOutlierCentroids > 0;
  return {
    config: layerConfig,
    codebooks: perGroup(() => f16Values(numCentroids * vectorLength, 1)),
    residualCodebooks: residual ? perGroup(() => f16Values(numResidualCentroids * vectorLength, 0.1)) : [],
    outlierCodebook: outliers ? f16Values(layerConfig.numOutlierCentroids * layerConfig.outlierVectorLength, 4) : undefined,
    indices: perGroup(() => Uint16Array.from({ length: rows * groupSize }, () => integer(numCentroids))),
    residualIndices: residual ? perGroup(() => Uint16Array.from({ length: rows * groupSize }, () => integer(numResidualCentroids))) : [],
    outlierIndices: outliers
      ? Uint16Array.from({ length: Math.ceil(outFeatures / layerConfig.outlierVectorLength) * outlierSize }, () => integer(layerConfig.numOutlierCentroids))
      : undefined,
    perm,
    weightScale: layerConfig.enableNorm ? f16Values(inFeatures, 2) : undefined,
    weightBias: layerConfig.enableNorm ? f16Values(inFeatures, 0.5) : undefined,
    bias: layerConfig.bias ? f16Values(outFeatures, 1) : undefined,
  };
}

/** W from the unpacked arrays by the §5.4 formula, written independently of the packer and the bit reader. */
function denseWeight(layer: VptqLayerData): Float32Array {
  const { inFeatures, outFeatures, vectorLength: v, outlierVectorLength: vo, groupSize: S, outlierSize: O } = layer.config;
  const weight = new Float32Array(outFeatures * inFeatures);
  for (let p = 0; p < inFeatures; p++) {
    const c = layer.perm[p];
    for (let o = 0; o < outFeatures; o++) {
      let w: number;
      if (p < O) {
        w = (layer.outlierCodebook as Float32Array)[(layer.outlierIndices as Uint16Array)[Math.floor(o / vo) * O + p] * vo + (o % vo)];
      } else {
        const g = Math.floor((p - O) / S);
        const at = Math.floor(o / v) * S + ((p - O) % S);
        w = layer.codebooks[g][layer.indices[g][at] * v + (o % v)];
        if (layer.residualCodebooks.length > 0) w = Math.fround(w + layer.residualCodebooks[g][layer.residualIndices[g][at] * v + (o % v)]);
      }
      if (layer.weightScale && layer.weightBias) w = w * layer.weightScale[c] + layer.weightBias[c];
      weight[o * inFeatures + c] = w;
    }
  }
  return weight;
}

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
      numCentroids: 2,
      numResidualCentroids: 2,
      outlierVectorLength: 3,
      numOutlierCentroids: 2,
      outlierSize: 1,
      groupNum: 1,
      groupSize: 3,
      enableNorm: true,
      enablePerm: true,
      indicesAsFloat: false,
      bias: false,
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
    bias: undefined,
  };
}

describe('dequantizeVptqLayer of a layer worked out by hand', () => {
  it('decodes outliers, main + residual entries, perm and norm as spec §5.4', () => {
    // Position 0 (outlier) is column 2: entry 1 = (100, 200, 300), then + bias 0.5.
    // Position 1 (s = 0) is column 0: vector 0 = C0 + Cr0 = (1.5, 2.25), vector 1 = C1 + Cr1 = (10, 20) → rows (1.5, 2.25, 10) × scale 2.
    // Position 2 (s = 1) is column 3: vector 0 = C1 + Cr1 = (10, 20), vector 1 = C0 + Cr1 = (1, 2) → rows (10, 20, 1).
    // Position 3 (s = 2) is column 1: vector 0 = C1 + Cr0 = (10.5, 20.25), vector 1 = C0 + Cr0 = (1.5, 2.25) → rows (10.5, 20.25, 1.5).
    expect(Array.from(dequantizeVptqLayer(packVptqLayer(handLayer(), 'F16')))).toEqual([
      3, 10.5, 100.5, 10,
      4.5, 20.25, 200.5, 20,
      20, 1.5, 300.5, 1,
    ]);
  });

  it('skips norm and perm when they are off', () => {
    const layer = handLayer();
    const plain: VptqLayerData = {
      ...layer,
      config: { ...layer.config, enableNorm: false, enablePerm: false, numResidualCentroids: 0 },
      residualCodebooks: [],
      residualIndices: [],
      perm: new Uint32Array([0, 1, 2, 3]),
      weightScale: undefined,
      weightBias: undefined,
    };
    expect(Array.from(dequantizeVptqLayer(packVptqLayer(plain, 'F32')))).toEqual([100, 1, 10, 10, 200, 2, 20, 20, 300, 10, 1, 1]);
  });
});

describe('packVptqLayer and unpackVptqLayer', () => {
  const variants: [string, VptqLayerConfig][] = [
    ['groups, residual, outliers, norm, perm, bias', config],
    [
      'one group, nothing else, ragged v',
      { ...config, inFeatures: 9, outFeatures: 13, vectorLength: 6, numCentroids: 32, numResidualCentroids: 0, outlierVectorLength: 0, numOutlierCentroids: 0, groupNum: 1, groupSize: 9, outlierSize: 0, enableNorm: false, enablePerm: false, bias: false },
    ],
  ];

  it.each(variants)('round-trips: unpack(pack(layer)) = layer and pack(unpack(packed)) = packed (%s)', (_, layerConfig) => {
    const layer = randomLayer(layerConfig, 3);
    const packed = packVptqLayer(layer, 'F16');
    expect(packed.config).toBe(layer.config);
    expect(unpackVptqLayer(packed)).toEqual(layer);
    expect(packVptqLayer(unpackVptqLayer(packed), 'F16')).toEqual(packed);
    expect(unpackVptqLayer(packVptqLayer(layer, 'F32'))).toEqual(layer);
  });

  it.each(variants)('dequantizes to the §5.4 weight of the unpacked arrays (%s)', (_, layerConfig) => {
    const layer = randomLayer(layerConfig, 4);
    expect(dequantizeVptqLayer(packVptqLayer(layer, 'BF16'))).not.toEqual(denseWeight(layer));
    expect(dequantizeVptqLayer(packVptqLayer(layer, 'F16'))).toEqual(denseWeight(layer));
  });

  it('stores float tensors at the requested dtype and indices as the format does', () => {
    const { tensors } = packVptqLayer(randomLayer(config, 5), 'BF16');
    expect([tensors.centroids.dtype, tensors.residualCentroids?.dtype, tensors.weightScale?.dtype, tensors.bias?.dtype]).toEqual(['BF16', 'BF16', 'BF16', 'BF16']);
    expect(tensors.indices).toBeInstanceOf(Uint32Array);
    expect(tensors.indices.length).toBe(2 * 3 * 4); // [G, R, P] = [2, ceil(20/8), ceil(7·18/32)]
    expect(tensors.perm).toBeInstanceOf(Uint16Array);
  });

  it('names what does not match the config', () => {
    const layer = randomLayer(config, 6);
    expect(() => packVptqLayer({ ...layer, codebooks: [layer.codebooks[0]] }, 'F16')).toThrow(/codebooks must be an array of 2 arrays, one per group/);
    expect(() => packVptqLayer({ ...layer, indices: [layer.indices[0], new Uint16Array(3)] }, 'F16')).toThrow(/indices\[1\] must have length 21 \(got 3\)/);
    const outOfRange = layer.residualIndices[1].slice();
    outOfRange[5] = 1024;
    expect(() => packVptqLayer({ ...layer, residualIndices: [layer.residualIndices[0], outOfRange] }, 'F16')).toThrow(
      /residualIndices\[1\] must be below 1024 \(got 1024 at 5\)/,
    );
    expect(() => packVptqLayer({ ...layer, perm: new Uint32Array(20) }, 'F16')).toThrow(/perm must be a permutation of 0..19/);
    expect(() => packVptqLayer({ ...layer, bias: undefined }, 'F16')).toThrow(/bias must be a Float32Array \(got undefined\)/);
    expect(() => packVptqLayer({ ...layer, config: { ...config, bias: false } }, 'F16')).toThrow(/bias must be empty or undefined/);
    expect(() => packVptqLayer({ ...layer, config: { ...config, enablePerm: false } }, 'F16')).toThrow(/perm must be the identity/);
    expect(() => packVptqLayer({ ...layer, weightScale: new Float64Array(20) as never }, 'F16')).toThrow(TypeError);
    expect(() => packVptqLayer({ ...layer, config: { ...config, numResidualCentroids: -1 } }, 'F16')).toThrow(/with 0 for an absent part/);
    expect(() => unpackVptqLayer({ config, tensors: { ...packVptqLayer(layer, 'F16').tensors, perm: undefined } })).toThrow(/perm is required by the layer config/);
  });
});
