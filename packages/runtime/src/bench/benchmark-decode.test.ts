import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkDecode, tinyDecodeShape } from './benchmark-decode';

const device = await requestTestDevice();

describe.skipIf(!device)('benchmarkDecode', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('decodes both variants of a tiny synthetic model and reports speed, memory and a breakdown', async () => {
    const messages: string[] = [];
    const result = await benchmarkDecode(gpu, { shape: tinyDecodeShape, tokens: 6, warmupTokens: 2, onProgress: (message) => messages.push(message) });
    expect(result.shape).toEqual(tinyDecodeShape);
    expect(result.rows.map((row) => row.variant)).toEqual(['fp16', 'vptq']);
    const [fp16, vptq] = result.rows;
    for (const row of result.rows) {
      expect(row.tokens).toBe(6);
      expect(row.tokensPerSecond).toBeCloseTo(6 / row.seconds, 6);
      expect(row.msPerToken).toBeCloseTo((row.seconds * 1000) / 6, 6);
      expect(row.gpuMemoryBytes).toBeGreaterThan(row.weightBytes);
      // Embedding; per layer stacked q/k/v GEMV, RoPE + KV append, attention (one split: the cache holds 9
      // positions), o, gate, up (688 floats are not 256-byte aligned, so not stacked), SwiGLU, down; final norm,
      // classifier, argmax. The RMSNorm gains are folded into q/k/v and gate/up in both variants: the fused
      // VQ-GEMV normalizes x itself, and after the dense GEMVs RoPE + KV append and SwiGLU apply the inverse RMS.
      expect(row.dispatchesPerToken).toBe(1 + 2 * 8 + 3);
      expect(row).toMatchObject({ attentionSplits: 1, startPosition: 0 });
      const split = row.breakdown;
      expect(split && split.linearMsPerToken > 0 && split.otherMsPerToken > 0 && split.encodeMsPerToken > 0).toBe(true);
      const kernels = split?.kernels ?? [];
      expect(kernels.reduce((sum, kernel) => sum + kernel.dispatches, 0)).toBe(row.dispatchesPerToken);
      expect(kernels.map((kernel) => kernel.label)).toContain(row.variant === 'fp16' ? 'gemv' : 'vq-gemv');
      // Timestamps may be quantized by the implementation, so a tiny kernel can read as 0 ms.
      expect(kernels.every((kernel) => kernel.msPerToken >= 0 && Number.isFinite(kernel.msPerToken))).toBe(true);
    }
    expect(fp16.linearBitsPerWeight).toBe(16);
    // 2 index bits plus a 65536 × 8 f16 codebook per projection, which dominates at this tiny size.
    expect(vptq.linearBitsPerWeight).toBeGreaterThan(2);
    expect(vptq.label).toBe('vptq v8-k65536 (2 index bits)');
    expect(fp16.weightBytes).toBeGreaterThan(0);
    expect(result.speedup).toBeCloseTo(vptq.tokensPerSecond / fp16.tokensPerSecond, 9);
    expect(messages).toContain('fp16: decoding 6 tokens');
  });

  it('runs the v8-k256-r256 layout (two 256-entry codebooks per projection)', async () => {
    const result = await benchmarkDecode(gpu, { shape: { ...tinyDecodeShape, layers: 1 }, quantization: 'v8-k256-r256', variants: ['vptq'], tokens: 3, warmupTokens: 0, breakdown: false });
    expect(result.rows.map((row) => row.label)).toEqual(['vptq v8-k256-r256 (2 index bits)']);
    expect(result.rows[0].tokensPerSecond).toBeGreaterThan(0);
  });

  it('decodes after a prefilled prompt with split attention (a combine dispatch per layer)', async () => {
    const messages: string[] = [];
    const shape = { ...tinyDecodeShape, layers: 1 };
    const options = { shape, variants: ['vptq'] as const, tokens: 3, warmupTokens: 1, startPosition: 150, onProgress: (message: string) => messages.push(message) };
    const [split] = (await benchmarkDecode(gpu, { ...options, attentionSplits: 3 })).rows;
    expect(messages).toContain('vptq v8-k65536 (2 index bits): prefilling 150 tokens');
    expect(split).toMatchObject({ tokens: 3, attentionSplits: 3, startPosition: 150 });
    const [single] = (await benchmarkDecode(gpu, { ...options, attentionSplits: 1 })).rows;
    expect(single.attentionSplits).toBe(1);
    // The attention of each layer adds its combine.
    expect(split.dispatchesPerToken).toBe(single.dispatchesPerToken + shape.layers);
    expect(split.breakdown?.kernels.find((kernel) => kernel.label === 'attention')?.dispatches).toBe(2);
  });

  it('runs the v6-k4096 layout alone and rejects bad options', async () => {
    const result = await benchmarkDecode(gpu, { shape: { ...tinyDecodeShape, layers: 1 }, quantization: 'v6-k4096', variants: ['vptq'], tokens: 3, warmupTokens: 0, breakdown: false });
    expect(result.rows).toHaveLength(1);
    expect(result.rows[0].breakdown).toBeUndefined();
    expect(result.speedup).toBeUndefined();
    await expect(benchmarkDecode(gpu, { tokens: 0 })).rejects.toThrow('benchmarkDecode: options.tokens must be an integer ≥ 1 (got 0)');
    await expect(benchmarkDecode(gpu, { shape: { hiddenSize: 100, heads: 3 } })).rejects.toThrow(/hiddenSize must be an even multiple of shape.heads/);
    await expect(benchmarkDecode(gpu, { variants: [] })).rejects.toThrow(/variants must list/);
    await expect(benchmarkDecode(gpu, { quantization: 'v4' as 'v6-k4096' })).rejects.toThrow(/quantization must be one of v8-k65536, v6-k4096, v8-k256-r256 \(got v4\)/);
  });
});
