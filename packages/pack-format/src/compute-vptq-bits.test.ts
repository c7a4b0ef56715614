import { describe, expect, it } from 'vitest';

import { computeVptqLayerBits, computeVptqModelBits, sumVptqBits } from './compute-vptq-bits';
import type { VptqLayerConfig } from './vptq-layer-config';

function linear(outFeatures: number, inFeatures: number, v: number, k: number, changes: Partial<VptqLayerConfig> = {}): VptqLayerConfig {
  return {
    inFeatures,
    outFeatures,
    vectorLength: v,
    numCentroids: k,
    numResidualCentroids: 0,
    outlierVectorLength: 0,
    numOutlierCentroids: 0,
    groupNum: 1,
    groupSize: inFeatures,
    outlierSize: 0,
    enableNorm: false,
    enablePerm: false,
    indicesAsFloat: false,
    bias: false,
    ...changes,
  };
}

/** The 7 linears of a LLaMA-2 decoder block: q, k, v, o, gate, up, down. */
function llamaBlock(hidden: number, intermediate: number, v: number, k: number, changes: Partial<VptqLayerConfig> = {}): VptqLayerConfig[] {
  const attention = linear(hidden, hidden, v, k, changes);
  return [
    attention,
    attention,
    attention,
    attention,
    linear(intermediate, hidden, v, k, changes),
    linear(intermediate, hidden, v, k, changes),
    linear(hidden, intermediate, v, k, { ...changes, groupSize: intermediate }),
  ];
}

describe('computeVptqLayerBits', () => {
  it("reproduces the paper's example: 4096×4096, v = 8, k = 256 → ratio 15.97, 1.002 bits", () => {
    const bits = computeVptqLayerBits(linear(4096, 4096, 8, 256));
    expect(bits.indexBitsPerWeight).toBe(1);
    // (4096² · 8/8 + 8 · 256 · 16) / 4096² = 1 + 32768 / 16777216.
    expect(bits.paperBitsPerWeight).toBeCloseTo(1.001953125, 12);
    expect(16 / bits.paperBitsPerWeight).toBeCloseTo(15.97, 2);
    // R = 512, P = 4096·8/32 = 1024: no padding at all, so the stored figure equals the paper's.
    expect(bits.storedBits.indices).toBe(512 * 1024 * 32);
    expect(bits.bitsPerWeight).toBeCloseTo(1.001953125, 12);
  });

  it('weights outliers by their share and counts them at 16 bits per stored index', () => {
    const config = linear(4096, 4096, 12, 4096, {
      numResidualCentroids: 4096,
      outlierVectorLength: 4,
      numOutlierCentroids: 8192,
      outlierSize: 96,
      groupSize: 4000,
    });
    const bits = computeVptqLayerBits(config);
    // 96/4096 · 13/4 + 4000/4096 · (12 + 12)/12.
    expect(bits.indexBitsPerWeight).toBeCloseTo(0.076171875 + 1.953125, 12);
    expect(bits.storedBits.outlierIndices).toBe(1024 * 96 * 16);
    // R = ceil(4096/12) = 342, P = 4000·24/32 = 3000.
    expect(bits.storedBits.indices).toBe(342 * 3000 * 32);
    expect(bits.storedBits.outlierCentroids).toBe(8192 * 4 * 16);
    expect(bits.storedBits.residualCentroids).toBe(4096 * 12 * 16);
    expect(bits.paperBitsPerWeight).toBeCloseTo(bits.indexBitsPerWeight + ((4 * 8192 + 12 * 8192) * 16) / 4096 ** 2, 12);
  });

  it('multiplies main and residual codebooks by G and counts padding, norm and perm', () => {
    const config = linear(20, 20, 8, 256, {
      numResidualCentroids: 1024,
      groupNum: 2,
      groupSize: 10,
      enableNorm: true,
      enablePerm: true,
      bias: true,
    });
    const bits = computeVptqLayerBits(config, { floatDtype: 'F32' });
    expect(bits.storedBits).toEqual({
      centroids: 2 * 256 * 8 * 32,
      residualCentroids: 2 * 1024 * 8 * 32,
      outlierCentroids: 0,
      // R = 3 (4 padding rows), P = ceil(10·18/32) = 6 (12 padding bits per row).
      indices: 2 * 3 * 6 * 32,
      outlierIndices: 0,
      perm: 20 * 16,
      weightScale: 20 * 32,
      weightBias: 20 * 32,
      bias: 20 * 32,
    });
    expect(bits.totalBits).toBe(bits.storedBits.centroids + bits.storedBits.residualCentroids + 1152 + 320 + 640 + 640);
    expect(bits.bitsPerWeight).toBe(bits.totalBits / 400);
    expect(() => computeVptqLayerBits(config, { floatDtype: 'I8' as never })).toThrow(RangeError);
  });
});

describe('block and model sums', () => {
  it('LLaMA-2-7B, v = 6, k = 4096: index 2.000, codebooks +0.0136, norm +0.0056, stored 2.0199', () => {
    const block = sumVptqBits(llamaBlock(4096, 11008, 6, 4096, { enableNorm: true }).map((layer) => computeVptqLayerBits(layer)));
    expect(block.weights).toBe(202_375_168);
    expect(block.indexBitsPerWeight).toBeCloseTo(2, 12);
    expect(block.paperBitsPerWeight - block.indexBitsPerWeight).toBeCloseTo((7 * 6 * 4096 * 16) / 202_375_168, 12);
    expect(block.paperBitsPerWeight - 2).toBeCloseTo(0.0136, 4);
    expect((block.storedBits.weightScale + block.storedBits.weightBias) / block.weights).toBeCloseTo(0.0056, 4);
    // By hand: q/k/v/o R = 683, P = 1536; gate/up R = 1835, P = 1536; down R = 683, P = 4128 (all ×32 bits),
    // plus 7 codebooks of 4096·6 f16 and 2·in f16 norm values per linear.
    const indices = 4 * 683 * 1536 * 32 + 2 * 1835 * 1536 * 32 + 683 * 4128 * 32;
    expect(block.storedBits.indices).toBe(indices);
    expect(block.totalBits).toBe(indices + 7 * 4096 * 6 * 16 + (6 * 4096 + 11008) * 2 * 16);
    expect(block.totalBits).toBe(408_783_872);
    expect(block.bitsPerWeight).toBeCloseTo(2.0199, 4);
  });

  it('LLaMA-2-13B, v = 8, k = 65536: the codebooks add 0.185 bits per block', () => {
    const block = sumVptqBits(llamaBlock(5120, 13824, 8, 65536).map((layer) => computeVptqLayerBits(layer)));
    expect(block.weights).toBe(317_194_240);
    expect(block.indexBitsPerWeight).toBeCloseTo(2, 12);
    expect(block.paperBitsPerWeight - block.indexBitsPerWeight).toBeCloseTo(0.185, 3);
  });

  it('sums a model from its quantization config, by module names or over config_for_layers', () => {
    const [q, , , , gate, , down] = llamaBlock(64, 176, 4, 256, { enableNorm: true, enablePerm: true });
    const config = {
      configForLayers: { 'model.layers.0.self_attn.q_proj': q },
      sharedLayerConfig: { gate_proj: gate, down_proj: down },
    };
    const byNames = computeVptqModelBits(config, [
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.mlp.gate_proj',
      'model.layers.1.mlp.gate_proj',
      'model.layers.1.mlp.down_proj',
      'lm_head',
    ]);
    const expected = sumVptqBits([q, gate, gate, down].map((layer) => computeVptqLayerBits(layer)));
    expect(byNames).toEqual(expected);
    expect(computeVptqModelBits(config)).toEqual(sumVptqBits([computeVptqLayerBits(q)]));
    expect(() => computeVptqModelBits(config, ['lm_head'])).toThrow(/no quantized layer/);
    expect(() => sumVptqBits([])).toThrow(RangeError);
  });
});
