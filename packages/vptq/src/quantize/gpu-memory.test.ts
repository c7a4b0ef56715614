import type { LlamaConfig } from '@vptq/loader';
import { describe, expect, it } from 'vitest';

import { estimateGpuMemory } from './gpu-memory';

// LLaMA-2-7B's shapes.
const config: LlamaConfig = {
  modelType: 'llama',
  hiddenSize: 4096,
  intermediateSize: 11008,
  numHiddenLayers: 32,
  numAttentionHeads: 32,
  numKeyValueHeads: 32,
  headDim: 128,
  vocabSize: 32000,
  maxPositionEmbeddings: 4096,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeLayout: 'half',
  tieWordEmbeddings: false,
  attentionBias: false,
};

describe('estimateGpuMemory', () => {
  it('counts a LLaMA-2-7B layer by hand: one layer at a time, or the next calibrated while this one is quantized', () => {
    const one = estimateGpuMemory(config, 65536, 4096, 2048, 2, 1);
    const two = estimateGpuMemory(config, 65536, 4096, 2048, 2, 2);
    const f32 = 4;
    expect(one.stream).toBe(65536 * 4096 * f32);
    // q, k, v, o (4096²), gate and up (11008 × 4096), down (4096 × 11008).
    expect(one.layerWeights).toBe((4 * 4096 * 4096 + 3 * 11008 * 4096) * f32);
    // Three input groups of width 4096 and one (down) of 11008: E[xxᵀ], H and U each, plus one being factorized.
    const kept = 3 * (3 * 4096 ** 2 + 11008 ** 2) * f32 + 11008 ** 2 * f32;
    // The two largest projections in flight: 5 out·in f32 arrays, the k-means bounds (3 bytes a weight) and the in²
    // factor each (down, then gate).
    const projections = 23 * 4096 * 11008 + 11008 ** 2 * f32 + 23 * 11008 * 4096 + 4096 ** 2 * f32;
    expect(one.quantize).toBe(kept + projections);
    const calibrate = one.layerWeights + one.runner + one.accumulators;
    expect(one.peak).toBe(one.stream + Math.max(calibrate, one.quantize));
    // The next layer's calibration and its Hessians (up to three n² per group) on top of this layer's quantization.
    expect(two.peak).toBe(one.stream + calibrate + one.quantize + kept);
    expect(two.peak).toBeGreaterThan(one.peak);
  });
});
