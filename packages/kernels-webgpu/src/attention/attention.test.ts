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

  it('with a window, averages exactly the last `window` values up to the query (equal scores)', () => {
    // Zero keys give every visible key the same score, so the output is the plain mean of the visible values;
    // value k is k, so the mean names the visible range: keys position − window + 1 … position.
    const capacity = 12;
    const keys = new Float32Array(capacity);
    const values = Float32Array.from({ length: capacity }, (_, k) => k);
    const shape = { tokens: 3, heads: 1, kvHeads: 1, headDim: 1, position: 8, window: 4 };
    const out = attentionCpu(new Float32Array([1, 1, 1]), keys, values, shape);
    const mean = (from: number, to: number) => ((from + to) / 2);
    expect([...out]).toEqual([mean(5, 8), mean(6, 9), mean(7, 10)]);
    // A window at least as long as the context changes nothing; at 1 each query sees only itself.
    expect([...attentionCpu(new Float32Array([1, 1, 1]), keys, values, { ...shape, window: 11 })]).toEqual([mean(0, 8), mean(0, 9), mean(0, 10)]);
    expect([...attentionCpu(new Float32Array([1, 1, 1]), keys, values, { ...shape, window: 1 })]).toEqual([8, 9, 10]);
  });

  it('rejects a window that is not a positive integer', () => {
    expect(() => attentionCpu(new Float32Array(2), new Float32Array(2), new Float32Array(2), { tokens: 1, heads: 1, kvHeads: 1, headDim: 2, window: 0 })).toThrow(
      /shape\.window must be an integer between 1 and 4294967295 \(got 0\)/,
    );
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

  it('with a sliding window, decodes and prefills over only the window, across chunk boundaries', async () => {
    const capacity = 200;
    const keys = randomFloats(capacity * 2 * 64, 12);
    const values = randomFloats(capacity * 2 * 64, 13);
    // Decode: position 150 with a 100-key window starts at key 51, inside the first chunk of 64.
    const decode = { tokens: 1, heads: 8, kvHeads: 2, headDim: 64, position: 150, window: 100 };
    const query = randomFloats(8 * 64, 11, 2);
    const decoded = await attention(gpu, query, keys, values, decode);
    expect(maxAbsDifference(decoded, attentionCpu(query, keys, values, decode))).toBeLessThan(1e-5);
    expect(maxAbsDifference(decoded, attentionCpu(query, keys, values, { ...decode, window: undefined }))).toBeGreaterThan(1e-3);
    // Prefill: five queries whose windows of 70 keys start at 81 … 85 and span two chunks each.
    const prefill = { tokens: 5, heads: 2, kvHeads: 1, headDim: 96, position: 150, window: 70 };
    const prefillQuery = randomFloats(5 * 2 * 96, 14, 2);
    const prefillKeys = randomFloats(capacity * 96, 15);
    const prefillValues = randomFloats(capacity * 96, 16);
    const prefilled = await attention(gpu, prefillQuery, prefillKeys, prefillValues, prefill);
    expect(maxAbsDifference(prefilled, attentionCpu(prefillQuery, prefillKeys, prefillValues, prefill))).toBeLessThan(1e-5);
  });

  it('rejects a head dimension above 256', async () => {
    await expect(attention(gpu, new Float32Array(300), new Float32Array(300), new Float32Array(300), { tokens: 1, heads: 1, kvHeads: 1, headDim: 300 })).rejects.toThrow(
      /headDim must be at most 256 \(got 300\)/,
    );
  });
});
