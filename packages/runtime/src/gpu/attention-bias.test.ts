import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { openModel } from '@vptq/loader/node';
import type { LlamaConfig, ModelSource, VptqModelSource } from '@vptq/loader';
import { makeTempDir, maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCpuModel } from '../create-cpu-model';
import { loadWeights } from '../load-weights';
import { flatten, referenceLogits } from '../test/reference-forward';
import { expectGpuEqualsCpu } from '../test/expect-gpu-equals-cpu';
import { createSyntheticSource } from '../test/synthetic-model';
import { createGpuModel } from './create-gpu-model';
import { writeHfModelFixture, writeVptqModelFixture } from '../test/write-vptq-model';

// A Hugging Face Llama directory with attention_bias: true, so that q, k, v and o all carry a seeded random bias
// (never zero, ±0.5) as transformers' LlamaAttention builds them. Two shapes: the default synthetic one, whose
// widths keep q/k/v apart on the GPU, and one of 256-byte aligned widths, where a decoded token runs q|k|v as one
// stacked GEMV (with the biases stacked too).
const shapes: Record<string, Partial<LlamaConfig>> = {
  'small widths': {},
  'aligned widths': { hiddenSize: 128, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 16, intermediateSize: 192, vocabSize: 64 },
};
const biased: Partial<LlamaConfig> = { modelType: 'llama', attentionBias: true, ropeLayout: 'half', tieWordEmbeddings: false };
const attention = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const sequence = [1, 5, 9, 3, 30, 12, 7, 7, 21, 4, 33, 18];
const text = 'once upon a time, a cat sat on a mat.\nthe dog ran to the park and saw a big red ball.\n';

const temp = makeTempDir();
const dirs = new Map<string, string>();
beforeAll(() => {
  for (const [index, [name, shape]] of Object.entries(shapes).entries()) {
    const dir = join(temp, `hf-${index}`);
    writeHfModelFixture(createSyntheticSource({ ...shape, ...biased }, 21 + index), dir);
    dirs.set(name, dir);
  }
});

function readAll(source: ModelSource): Map<string, Float32Array> {
  return new Map(source.tensors.map((info) => [info.name, source.readTensor(info.name)]));
}

/** max |a − b| over max |b|: the error relative to the logits' scale. */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maxAbsDifference(a, b) / maxAbsDifference(b, new Float64Array(b.length));
}

describe('a Llama directory with attention_bias on the CPU', () => {
  for (const name of Object.keys(shapes)) {
    it(`${name}: loads q/k/v/o biases and its logits equal an independent dense computation`, () => {
      const source = openModel(dirs.get(name) as string);
      const store = readAll(source);
      const model = createCpuModel(loadWeights(source));
      source.close();
      expect(source.config).toMatchObject({ modelType: 'llama', attentionBias: true });
      for (let layer = 0; layer < source.config.numHiddenLayers; layer++) {
        for (const projection of attention) {
          const bias = store.get(`model.layers.${layer}.self_attn.${projection}.bias`);
          expect(bias?.every((value) => value !== 0), `layer ${layer} ${projection}`).toBe(true);
        }
      }
      const tokens = sequence.map((token) => token % source.config.vocabSize);
      const expected = flatten(referenceLogits(source.config, store, tokens));
      const got = model.forward(tokens, 0, { allLogits: true });
      const difference = relativeDifference(got, expected);
      console.log(`${name}: CPU vs reference logits, max relative difference ${difference.toExponential(2)}`);
      expect(difference).toBeLessThan(1e-5);

      // The o_proj bias matters: without it (the old rule) the same directory gives clearly other logits.
      const withoutOutputBias = new Map([...store].filter(([tensor]) => !tensor.endsWith('o_proj.bias')));
      expect(relativeDifference(flatten(referenceLogits(source.config, withoutOutputBias, tokens)), expected)).toBeGreaterThan(1e-2);
    });
  }
});

const device = await requestTestDevice();

describe.skipIf(!device)('a Llama directory with attention_bias on the GPU', () => {
  const gpu = device as GPUDevice;
  afterAll(async () => {
    rmSync(temp, { recursive: true, force: true });
    await releaseTestDevice();
  });

  const check = (vocab: number) => ({
    tolerance: 2e-4,
    prompt: sequence.slice(0, 6).map((token) => token % vocab),
    decoded: [40, 8, 22].map((token) => token % vocab),
    greedyFrom: 9,
    text,
    windowLength: 16,
    contextLength: 32,
  });

  for (const [name, shape] of Object.entries(shapes)) {
    it(`${name}, dense f32: window, decoded tokens, greedy decoding and perplexity equal the CPU's`, async () => {
      const dir = dirs.get(name) as string;
      const cpuSource = openModel(dir);
      const cpu = createCpuModel(loadWeights(cpuSource), { contextLength: 32 });
      cpuSource.close();
      const { dispatchesPerToken: dispatches } = await expectGpuEqualsCpu(gpu, `${name}, dense`, () => openModel(dir), cpu, check(cpu.config.vocabSize));

      // With its own bias, o_proj cannot carry the residual through its bias input: each layer adds the residual
      // after o and after down with a dispatch of its own; and biased q/k/v keep their RMSNorm dispatch (a bias
      // does not scale with the inverse RMS, so their gain is not folded): three more than without biases.
      const plain = await createGpuModel(gpu, createSyntheticSource({ ...shape, ...biased, attentionBias: false }, 21), { contextLength: 32 });
      const layers = cpu.config.numHiddenLayers;
      expect(dispatches).toBe(plain.dispatchesPerToken + 3 * layers);
      plain.destroy();
    });
  }

  it('aligned widths, VPTQ packed with biased layers: the fused kernels equal the CPU on the dequantized weights', async () => {
    const vptqDir = join(temp, 'vptq');
    writeVptqModelFixture(dirs.get('aligned widths') as string, vptqDir);
    const source = openModel(vptqDir) as VptqModelSource;
    expect(source.quantizedLayers.filter((layer) => layer.config.bias).map((layer) => layer.name.split('.').at(-1))).toEqual([
      ...attention,
      ...attention,
    ]);
    const cpu = createCpuModel(loadWeights(source), { contextLength: 32 });
    source.close();
    await expectGpuEqualsCpu(gpu, 'aligned widths, VPTQ packed', () => openModel(vptqDir), cpu, check(cpu.config.vocabSize));
  });
});
