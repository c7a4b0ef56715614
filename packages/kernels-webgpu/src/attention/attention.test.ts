import { maxAbsDifference, randomFloats, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { attention } from './attention';
import { attentionCpu } from './attention-cpu';

const device = await requestTestDevice();

describe('attentionCpu', () => {
  it('returns the only value when a query sees one key', () => {
    const out = attentionCpu(new Float32Array([1, 2]), new Float32Array([3, 4, 9, 9]), new Float32Array([5, 6, 7, 8]), {
      tokens: 1,
      heads: 1,
      kvHeads: 1,
      headDim: 2,
    });
    expect([...out]).toEqual([5, 6]);
  });

  it('rejects heads that are not a multiple of kvHeads', () => {
    expect(() => attentionCpu(new Float32Array(6), new Float32Array(4), new Float32Array(4), { tokens: 1, heads: 3, kvHeads: 2, headDim: 2 })).toThrow(
      /multiple of shape.kvHeads \(got 3 and 2\)/,
    );
  });
});

describe.skipIf(!device)('attention', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('decodes one query with GQA over a cache longer than one chunk', async () => {
    const shape = { tokens: 1, heads: 8, kvHeads: 2, headDim: 64, position: 150 };
    const capacity = 200;
    const query = randomFloats(8 * 64, 1, 2);
    const keys = randomFloats(capacity * 2 * 64, 2);
    const values = randomFloats(capacity * 2 * 64, 3);
    const onGpu = await attention(gpu, query, keys, values, shape);
    expect(maxAbsDifference(onGpu, attentionCpu(query, keys, values, shape))).toBeLessThan(1e-5);
  });

  it('applies the causal mask to several queries (prefill) with headDim above the workgroup size', async () => {
    const shape = { tokens: 5, heads: 2, kvHeads: 1, headDim: 96, position: 60 };
    const capacity = 70;
    const query = randomFloats(5 * 2 * 96, 4, 2);
    const keys = randomFloats(capacity * 96, 5);
    const values = randomFloats(capacity * 96, 6);
    const onGpu = await attention(gpu, query, keys, values, shape);
    expect(maxAbsDifference(onGpu, attentionCpu(query, keys, values, shape))).toBeLessThan(1e-5);
  });

  it('rejects a head dimension above 256', async () => {
    await expect(attention(gpu, new Float32Array(300), new Float32Array(300), new Float32Array(300), { tokens: 1, heads: 1, kvHeads: 1, headDim: 300 })).rejects.toThrow(
      /headDim must be at most 256 \(got 300\)/,
    );
  });
});
