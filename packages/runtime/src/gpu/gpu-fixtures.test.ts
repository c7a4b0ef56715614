import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { convertLlama2cToHf, loadLlama2cTokenizer, openLlama2c, openModel } from '@vptq/loader/node';
import { createModelFiles, openModelFiles } from '@vptq/loader';
import type { ModelSource, Tokenizer, VptqModelSource } from '@vptq/loader';
import { fixturePath, makeTempDir, maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCpuModel } from '../create-cpu-model';
import type { CpuLlamaModel } from '../create-cpu-model';
import { generate } from '../generate';
import { loadWeights } from '../load-weights';
import { perplexity } from '../perplexity';
import { createGpuModel } from './create-gpu-model';
import type { GpuLlamaModel } from './create-gpu-model';
import { writeVptqModelFixture } from '../test/write-vptq-model';

const device = await requestTestDevice();
const stories260K = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const tok512 = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const sample = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8');

interface Pair {
  readonly cpu: CpuLlamaModel;
  readonly gpu: GpuLlamaModel;
}

async function openPair(gpu: GPUDevice, source: ModelSource): Promise<Pair> {
  try {
    return { cpu: createCpuModel(loadWeights(source)), gpu: await createGpuModel(gpu, source) };
  } finally {
    source.close();
  }
}

describe.skipIf(!device)('GPU model on stories260K (cs336 sample)', () => {
  const gpu = device as GPUDevice;
  const temp = makeTempDir();
  let tokenizer: Tokenizer;
  let dense: Pair;
  let quantized: Pair;

  beforeAll(async () => {
    tokenizer = loadLlama2cTokenizer(tok512, { vocabSize: 512 });
    dense = await openPair(gpu, openLlama2c(stories260K));
    // The same packed directory runs dequantized by the loader on the CPU and through the fused kernels here.
    convertLlama2cToHf(stories260K, tok512, join(temp, 'hf'));
    writeVptqModelFixture(join(temp, 'hf'), join(temp, 'vptq'));
    const source = openModel(join(temp, 'vptq')) as VptqModelSource;
    expect(source.quantizedLayers.length).toBe(35);
    quantized = await openPair(gpu, source);
  });

  afterAll(async () => {
    dense?.gpu.destroy();
    quantized?.gpu.destroy();
    rmSync(temp, { recursive: true, force: true });
    await releaseTestDevice();
  });

  it('VPTQ: a directory read through Blobs uploads part by part (embeddings, each layer, the head) to the same logits', async () => {
    const dir = join(temp, 'vptq');
    const files = createModelFiles(Object.fromEntries(readdirSync(dir).map((name) => [name, new Blob([readFileSync(join(dir, name))])])));
    const source = (await openModelFiles(files)) as VptqModelSource;
    const prefetched: string[][] = [];
    const prefetch = source.prefetch.bind(source);
    const recording: VptqModelSource = Object.assign(Object.create(null), source, {
      prefetch: (names: readonly string[]) => {
        prefetched.push([...names]);
        return prefetch(names);
      },
    });
    expect(() => source.readTensor('model.norm.weight')).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_PREFETCHED' }));
    const fromBlobs = await createGpuModel(gpu, recording);
    source.close();
    try {
      expect(prefetched.length).toBe(2 + source.config.numHiddenLayers);
      expect(prefetched[0]).toEqual(['model.embed_tokens.weight']);
      expect(prefetched[1]).toContain('model.layers.0.self_attn.q_proj.weight');
      expect(prefetched.at(-1)).toEqual(['model.norm.weight']);
      const tokens = tokenizer.encode('The cat sat on the mat.', { bos: true });
      expect(await fromBlobs.forward(tokens, 0, { allLogits: true })).toEqual(await quantized.gpu.forward(tokens, 0, { allLogits: true }));
    } finally {
      fromBlobs.destroy();
    }
  });

  it('VPTQ: the packed layers and their dequantized dense upload give the same logits', async () => {
    const source = openModel(join(temp, 'vptq'));
    const dequantized = await createGpuModel(gpu, source, { quantized: 'dense' });
    source.close();
    try {
      expect(dequantized.weightBytes).toBeGreaterThan(quantized.gpu.weightBytes);
      const tokens = tokenizer.encode('The cat sat on the mat.', { bos: true });
      const expected = await dequantized.forward(tokens, 0, { allLogits: true });
      expect(maxAbsDifference(await quantized.gpu.forward(tokens, 0, { allLogits: true }), expected)).toBeLessThan(2e-4);
      expect(maxAbsDifference(await quantized.gpu.forward([9], tokens.length), await dequantized.forward([9], tokens.length))).toBeLessThan(2e-4);
    } finally {
      dequantized.destroy();
    }
  });

  for (const kind of ['fp32', 'VPTQ'] as const) {
    const pair = (): Pair => (kind === 'fp32' ? dense : quantized);

    it(`${kind}: perplexity equals the CPU's within 1e-3 relative`, async () => {
      const { cpu, gpu: model } = pair();
      const expected = perplexity(cpu, tokenizer, sample);
      const actual = await perplexity(model, tokenizer, sample);
      expect(actual.tokens).toBe(1804);
      expect(Math.abs(actual.perplexity / expected.perplexity - 1)).toBeLessThan(1e-3);
      if (kind === 'fp32') expect(Math.abs(actual.perplexity / 3.548 - 1)).toBeLessThan(0.003);
      // A working quantization lands far below 2-bit round-to-nearest (667.9 on valid 0–99).
      else expect(actual.perplexity).toBeLessThan(40);
    });

    it(`${kind}: window and single-step logits match the CPU's`, async () => {
      const { cpu, gpu: model } = pair();
      const tokens = tokenizer.encode('Once upon a time, there was a little dog named Max.', { bos: true });
      const expected = cpu.forward(tokens, 0, { allLogits: true });
      const actual = await model.forward(tokens, 0, { allLogits: true });
      expect(maxAbsDifference(actual, expected)).toBeLessThan(2e-4);
      for (const [offset, token] of [[0, 42], [1, 7], [2, 300]] as const) {
        const position = tokens.length + offset;
        expect(maxAbsDifference(await model.forward([token], position), cpu.forward([token], position))).toBeLessThan(2e-4);
      }
    });

    it(`${kind}: greedy generation equals the CPU's`, async () => {
      const { cpu, gpu: model } = pair();
      const options = { prompt: 'Once upon a time', maxTokens: 32 };
      const expected = generate(cpu, tokenizer, options);
      const actual = await generate(model, tokenizer, options);
      expect(actual.tokens).toEqual(expected.tokens);
      expect(actual.text).toBe(expected.text);
      // The same continuation with the argmax chosen and fed back on the GPU.
      const prompt = expected.promptTokens;
      await model.forward(prompt.slice(0, -1), 0);
      const greedy = await model.decodeGreedy(prompt[prompt.length - 1], prompt.length - 1, {
        maxTokens: 32,
        lookahead: 3,
        stopTokens: [tokenizer.bosId, tokenizer.eosId],
      });
      expect(greedy.tokens).toEqual(expected.tokens);
    });
  }
});
