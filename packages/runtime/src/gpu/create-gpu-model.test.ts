import type { ModelSource } from '@vptq/loader';
import { maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { createCpuModel } from '../create-cpu-model';
import type { CpuLlamaModel } from '../create-cpu-model';
import { loadWeights } from '../load-weights';
import { LlamaRuntimeError } from '../runtime-error';
import { createSyntheticSource } from '../test/synthetic-model';
import { createGpuModel } from './create-gpu-model';

const device = await requestTestDevice();
const tolerance = 1e-4;

/** The source with every weight matrix rounded to f16, as the GPU stores it with weightFormat 'f16'. */
function roundedToF16(source: ModelSource): ModelSource {
  return {
    ...source,
    readTensor(name) {
      const values = source.readTensor(name);
      return name.endsWith('norm.weight') || name.endsWith('.bias') ? values : values.map((value) => f16BitsToF32(f32ToF16Bits(value)));
    },
  };
}

function argmaxOf(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** The CPU's greedy continuation of `token` at `position`, stepping until `count` tokens or a stop id. */
function cpuGreedy(cpu: CpuLlamaModel, token: number, position: number, count: number, stops: readonly number[] = []): number[] {
  const produced: number[] = [];
  let next = argmaxOf(cpu.forward([token], position));
  while (!stops.includes(next) && produced.length < count) {
    produced.push(next);
    if (produced.length < count) next = argmaxOf(cpu.forward([next], position + produced.length));
  }
  return produced;
}

describe.skipIf(!device)('createGpuModel (synthetic models)', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('profiles decode steps: every dispatch, the projections, the rest or one kernel, and resets the cache', async () => {
    const model = await createGpuModel(gpu, createSyntheticSource({ ropeLayout: 'half' }), { contextLength: 16 });
    try {
      await model.forward([1, 2, 3], 0);
      const byKernel = model.dispatchesPerTokenByKernel;
      expect([...byKernel.values()].reduce((sum, count) => sum + count, 0)).toBe(model.dispatchesPerToken);
      const all = await model.profileDecode({ steps: 4 });
      expect(model.cachedPositions).toBe(0);
      expect(all).toMatchObject({ steps: 4, dispatches: model.dispatchesPerToken });
      expect(all.wallMsPerStep).toBeGreaterThan(0);
      expect(all.encodeMsPerStep).toBeCloseTo(all.positionMsPerStep + all.recordMsPerStep + all.submitMsPerStep, 9);
      expect(all.gpuMsPerStep === undefined).toBe(!gpu.features.has('timestamp-query'));
      const linear = await model.profileDecode({ steps: 2, dispatches: 'linear' });
      const other = await model.profileDecode({ steps: 2, dispatches: 'other' });
      expect(linear.dispatches).toBeGreaterThan(0);
      expect(linear.dispatches + other.dispatches).toBe(model.dispatchesPerToken);
      expect((await model.profileDecode({ steps: 1, dispatches: 'attention' })).dispatches).toBe(byKernel.get('attention'));
      await expect(model.profileDecode({ dispatches: 'nope' })).rejects.toThrow(/dispatches must be 'all', 'linear', 'other' or a kernel label of this model \(.*attention.*\); got nope/);
      await expect(model.profileDecode({ steps: 17 })).rejects.toThrow(/steps must be an integer between 1 and contextLength − startPosition = 16 \(got 17\)/);
      // A later start times attention over a longer cache; the steps must still fit.
      expect(await model.profileDecode({ steps: 4, startPosition: 12 })).toMatchObject({ steps: 4 });
      await expect(model.profileDecode({ steps: 5, startPosition: 12 })).rejects.toThrow(/contextLength − startPosition = 4 \(got 5\)/);
    } finally {
      model.destroy();
    }
    await expect(model.profileDecode()).rejects.toThrow(/destroyed/);
  });

  it('matches the CPU for a window and single steps (half RoPE, GQA, tied classifier)', async () => {
    const source = createSyntheticSource({ ropeLayout: 'half' });
    const cpu = createCpuModel(loadWeights(source));
    const model = await createGpuModel(gpu, source);
    try {
      const tokens = [1, 5, 9, 3, 7, 30, 2, 11, 12, 4, 0];
      const actual = await model.forward(tokens, 0, { allLogits: true });
      expect(actual.length).toBe(tokens.length * 37);
      expect(maxAbsDifference(actual, cpu.forward(tokens, 0, { allLogits: true }))).toBeLessThan(tolerance);
      expect(model.cachedPositions).toBe(tokens.length);
      for (const [offset, token] of [17, 3, 36].entries()) {
        const position = tokens.length + offset;
        expect(maxAbsDifference(await model.forward([token], position), cpu.forward([token], position))).toBeLessThan(tolerance);
      }
      // Embedding; per layer 7 projections, RoPE + KV append, attention (one split: the cache holds 64
      // positions) and SwiGLU, and no RMSNorm: the gains are folded into the f32 q/k/v and gate/up, and RoPE +
      // KV append and SwiGLU apply the inverse RMS; the residual adds ride on the o/down projections' bias;
      // final norm, classifier, argmax. Widths of 24 floats are not 256-byte aligned, so q/k/v are not stacked.
      expect(model.dispatchesPerToken).toBe(1 + 2 * 10 + 3);
      expect(model.gpuMemoryBytes).toBeGreaterThan(model.weightBytes);
    } finally {
      model.destroy();
    }
  });

  it('matches with interleaved RoPE, q/k/v bias, an untied classifier, f16 storage and windowed weights', async () => {
    // Qwen2's biases: q/k/v only, so o_proj can still carry the residual (a Llama o_proj bias is tested in attention-bias.test.ts).
    const source = createSyntheticSource({ modelType: 'qwen2', tieWordEmbeddings: false, attentionBias: true, vocabSize: 53 }, 3);
    const cpu = createCpuModel(loadWeights(roundedToF16(source)));
    // 1280-byte windows hold 16 rows of 48 bytes (f16, hidden 24): 4 windows for the [53, 24] embedding and
    // classifier, 3 for gate/up [40, 24], 2 for down [24, 40] (80-byte rows).
    const model = await createGpuModel(gpu, source, { weightFormat: 'f16', maxBindingBytes: 1280 });
    try {
      const tokens = [1, 52, 0, 17, 40, 3, 9];
      expect(maxAbsDifference(await model.forward(tokens, 0, { allLogits: true }), cpu.forward(tokens, 0, { allLogits: true }))).toBeLessThan(tolerance);
      expect(maxAbsDifference(await model.forward([51], 7), cpu.forward([51], 7))).toBeLessThan(tolerance);
      // Embedding (4 windows); per layer 12 GEMV windows (q, k, v, o one each, gate and up 3, down 2), both
      // RMSNorms (f16 storage folds no gains; biased q/k/v could not), RoPE + KV append, attention, SwiGLU; final
      // norm, classifier (4 windows), argmax.
      expect(model.dispatchesPerToken).toBe(4 + 2 * (12 + 2 + 1 + 1 + 1) + 1 + 4 + 1);
    } finally {
      model.destroy();
    }
  });

  it('runs long windows in chunks, short windows with GEMV, and rewinds', async () => {
    const source = createSyntheticSource();
    const cpu = createCpuModel(loadWeights(source), { contextLength: 20 });
    const model = await createGpuModel(gpu, source, { contextLength: 20, prefillChunkTokens: 4 });
    try {
      const prefix = [1, 8, 9, 10, 11, 12, 13, 14, 15, 16, 3];
      expect(maxAbsDifference(await model.forward(prefix, 0, { allLogits: true }), cpu.forward(prefix, 0, { allLogits: true }))).toBeLessThan(tolerance);
      // Rewind to position 6, then a 3-token window (GEMV with tokens = 3) and a last-logits window over 2 chunks.
      expect(maxAbsDifference(await model.forward([20, 21, 22], 6), cpu.forward([20, 21, 22], 6))).toBeLessThan(tolerance);
      expect(model.cachedPositions).toBe(9);
      const tail = [23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33];
      expect(maxAbsDifference(await model.forward(tail, 9), cpu.forward(tail, 9))).toBeLessThan(tolerance);
      expect(model.cachedPositions).toBe(20);
      await expect(model.forward([1], 20)).rejects.toThrow('forward: startPosition + tokens must not exceed contextLength (got 20 + 1 > 20)');
    } finally {
      model.destroy();
    }
  });

  it('reads back only the argmax, and decodes greedily with the id fed back on the GPU', async () => {
    const source = createSyntheticSource({ vocabSize: 41, hiddenSize: 32, numAttentionHeads: 4, numKeyValueHeads: 4, headDim: 8 }, 5);
    const cpu = createCpuModel(loadWeights(source), { contextLength: 24 });
    const model = await createGpuModel(gpu, source, { contextLength: 24 });
    try {
      const prompt = [1, 4, 9, 16];
      expect(await model.forwardArgmax(prompt, 0)).toBe(argmaxOf(cpu.forward(prompt, 0)));
      const expected = cpuGreedy(cpu, 7, 4, 12);
      for (const lookahead of [1, 4]) {
        const seen: number[] = [];
        const result = await model.decodeGreedy(7, 4, { maxTokens: 12, lookahead, onToken: (token) => seen.push(token) });
        expect(result).toEqual({ tokens: expected, stopReason: 'length' });
        expect(seen).toEqual(expected);
        // The last produced token is not fed, as in a loop of forward calls.
        expect(model.cachedPositions).toBe(4 + 12);
      }
      const stop = expected[5];
      const stopped = await model.decodeGreedy(7, 4, { maxTokens: 12, stopTokens: [stop] });
      expect(stopped).toEqual({ tokens: expected.slice(0, expected.indexOf(stop)), stopReason: 'stop' });
      expect(model.cachedPositions).toBe(4 + expected.indexOf(stop) + 1);
      const full = await model.decodeGreedy(7, 4, { maxTokens: 100 });
      expect(full.stopReason).toBe('context');
      expect(full.tokens).toEqual(cpuGreedy(cpu, 7, 4, 20));
      expect(model.cachedPositions).toBe(24);
      expect(await model.decodeGreedy(7, 4, { maxTokens: 0 })).toEqual({ tokens: [], stopReason: 'length' });
    } finally {
      model.destroy();
    }
  });

  it('rejects bad arguments, overlapping calls and use after destroy', async () => {
    const source = createSyntheticSource();
    await expect(createGpuModel(gpu, source, { contextLength: 0 })).rejects.toThrow('createGpuModel: options.contextLength must be a positive integer (got 0)');
    await expect(createGpuModel(gpu, source, { prefillChunkTokens: 1.5 })).rejects.toThrow(/prefillChunkTokens must be a positive integer \(got 1.5\)/);
    await expect(createGpuModel(gpu, source, { weightFormat: 'bf16' as 'f16' })).rejects.toThrow(/weightFormat must be 'f32' or 'f16' \(got bf16\)/);
    await expect(createGpuModel(gpu, source, { quantized: 'fused' as 'packed' })).rejects.toThrow(/quantized must be 'packed' or 'dense' \(got fused\)/);
    const short = { ...source, readTensor: (name: string) => (name.endsWith('up_proj.weight') ? new Float32Array(3) : source.readTensor(name)) };
    const failure = await createGpuModel(gpu, short).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LlamaRuntimeError);
    expect(failure).toMatchObject({ code: 'VPTQ_RUNTIME_BAD_WEIGHTS', tensor: 'model.layers.0.mlp.up_proj.weight' });

    const model = await createGpuModel(gpu, source);
    await expect(model.forward([1, 2], 1)).rejects.toThrow('forward: startPosition must be an integer between 0 and the 0 cached positions (got 1)');
    await expect(model.forward([1, 37], 0)).rejects.toThrow('forward: tokens[1] must be an integer id in [0, 37) (got 37)');
    await expect(model.forward([], 0)).rejects.toThrow(/tokens must be a non-empty array/);
    await expect(model.decodeGreedy(1, 0, { maxTokens: -1 })).rejects.toThrow(/maxTokens must be a non-negative integer \(got -1\)/);
    await expect(model.decodeGreedy(1, 0, { maxTokens: 3, lookahead: 0 })).rejects.toThrow(/lookahead must be an integer between 1 and 64 \(got 0\)/);
    const first = model.forward([1, 2, 3], 0);
    await expect(model.forwardArgmax([1], 0)).rejects.toThrow('forwardArgmax: another forward pass of this model is still running; await it first');
    await first;
    model.reset();
    expect(model.cachedPositions).toBe(0);
    model.destroy();
    await expect(model.forward([1], 0)).rejects.toThrow('forward: the model was destroyed');
  });
});
