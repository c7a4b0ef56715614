import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { attention } from './attention';
import { attentionCpu } from './attention-cpu';
import type { AttentionShape } from './attention-cpu';
import { planAttentionSplits } from './plan-attention-splits';
import { splitAttentionCpu } from './split-attention-cpu';

const device = await requestTestDevice();

describe('planAttentionSplits', () => {
  it('fills about 512 workgroups for decode, at most one split per 256 cache rows, and gives prefill 1', () => {
    expect(planAttentionSplits({ tokens: 1, heads: 32, capacity: 4096 })).toBe(16);
    expect(planAttentionSplits({ tokens: 1, heads: 8, capacity: 8192 })).toBe(32);
    expect(planAttentionSplits({ tokens: 1, heads: 8, capacity: 65536 })).toBe(64);
    // A short cache: no split, so no combine dispatch.
    expect(planAttentionSplits({ tokens: 1, heads: 32, capacity: 137 })).toBe(1);
    expect(planAttentionSplits({ tokens: 1, heads: 32, capacity: 137 }, { minKeysPerSplit: 64 })).toBe(2);
    expect(planAttentionSplits({ tokens: 64, heads: 32, capacity: 4096 })).toBe(1);
    expect(planAttentionSplits({ tokens: 1, heads: 32, capacity: 16384 }, { targetWorkgroups: 2048 })).toBe(64);
  });
});

describe('splitAttentionCpu', () => {
  it('equals attentionCpu for every split count, with GQA, a window and contexts off the chunk grid', () => {
    const capacity = 700;
    const keys = randomFloats(capacity * 2 * 8, 2);
    const values = randomFloats(capacity * 2 * 8, 3);
    const query = randomFloats(3 * 4 * 8, 1, 2);
    for (const window of [undefined, 130]) {
      const shape = { tokens: 3, heads: 4, kvHeads: 2, headDim: 8, position: 650, window };
      const reference = attentionCpu(query, keys, values, shape);
      for (const splits of [1, 2, 3, 7, 16, 64]) {
        expect(maxAbsDifference(splitAttentionCpu(query, keys, values, shape, splits), reference)).toBeLessThan(1e-6);
      }
    }
  });

  it('covers every key exactly once: equal scores average all the visible values', () => {
    // Zero keys give each visible key the same weight; value k is k, so the output is the mean of 0 … position.
    const capacity = 300;
    const values = Float32Array.from({ length: capacity }, (_, k) => k);
    const out = splitAttentionCpu(new Float32Array([1]), new Float32Array(capacity), values, { tokens: 1, heads: 1, kvHeads: 1, headDim: 1, position: 290 }, 5);
    expect(out[0]).toBeCloseTo(145, 4);
  });

  it('rejects a split count outside 1 … 64', () => {
    expect(() => splitAttentionCpu(new Float32Array(1), new Float32Array(1), new Float32Array(1), { tokens: 1, heads: 1, kvHeads: 1, headDim: 1 }, 65)).toThrow(
      /splits must be an integer between 1 and 64 \(got 65\)/,
    );
  });
});

describe.skipIf(!device)('attention with split-K', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  const cases: { name: string; shape: AttentionShape; capacity: number; splits: number }[] = [
    { name: 'one decoded query, 32 heads over 8 KV heads, long context (4000 keys)', shape: { tokens: 1, heads: 32, kvHeads: 8, headDim: 64, position: 3999 }, capacity: 4096, splits: 16 },
    { name: 'one decoded query at a short context (fewer active splits than planned)', shape: { tokens: 1, heads: 4, kvHeads: 4, headDim: 128, position: 70 }, capacity: 512, splits: 8 },
    { name: 'a sliding window across split boundaries, headDim 80', shape: { tokens: 1, heads: 6, kvHeads: 2, headDim: 80, position: 1500, window: 700 }, capacity: 1600, splits: 5 },
    { name: 'several queries (8), causal mask, headDim 96 above the workgroup size', shape: { tokens: 8, heads: 4, kvHeads: 1, headDim: 96, position: 400 }, capacity: 410, splits: 3 },
    { name: 'the first position (one key)', shape: { tokens: 1, heads: 2, kvHeads: 1, headDim: 6, position: 0 }, capacity: 64, splits: 4 },
    { name: 'an odd headDim (5, scalar key loads), two queries', shape: { tokens: 2, heads: 3, kvHeads: 1, headDim: 5, position: 300 }, capacity: 310, splits: 4 },
  ];
  for (const { name, shape, capacity, splits } of cases) {
    it(`agrees with the CPU twin: ${name}`, async () => {
      const row = shape.kvHeads * shape.headDim;
      const query = randomFloats(shape.tokens * shape.heads * shape.headDim, 1, 2);
      const keys = randomFloats(capacity * row, 2);
      const values = randomFloats(capacity * row, 3);
      const onGpu = await attention(gpu, query, keys, values, shape, { splits });
      const onCpu = splitAttentionCpu(query, keys, values, shape, splits);
      expect(maxAbsDifference(onGpu, onCpu)).toBeLessThan(2e-5);
      // The one-pass kernel (splits = 1) computes the same.
      expect(maxAbsDifference(await attention(gpu, query, keys, values, shape, { splits: 1 }), onGpu)).toBeLessThan(2e-5);
    });
  }

  it('rejects a split count above 64', async () => {
    await expect(attention(gpu, new Float32Array(2), new Float32Array(2), new Float32Array(2), { tokens: 1, heads: 1, kvHeads: 1, headDim: 2 }, { splits: 65 })).rejects.toThrow(
      /options\.splits must be an integer between 1 and 64 \(got 65\)/,
    );
  });
});
