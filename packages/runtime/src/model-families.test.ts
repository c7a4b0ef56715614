import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { openModel } from '@vptq/loader/node';
import type { ModelSource } from '@vptq/loader';
import { makeTempDir, maxAbsDifference, publishedConfigs, releaseTestDevice, requestTestDevice, shrinkPublishedConfig } from '@vptq/test-utils';
import type { PublishedModel, TestModelSizes } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCpuModel } from './create-cpu-model';
import { loadWeights } from './load-weights';
import { expectGpuEqualsCpu } from './test/expect-gpu-equals-cpu';
import { flatten, llama3InverseFrequencies, referenceLogits } from './test/reference-forward';
import type { Llama3RopeScalingJson, ReferenceOptions } from './test/reference-forward';
import { createSyntheticSourceForHfConfig } from './test/synthetic-model';
import { writeHfModelFixture } from './test/write-vptq-model';

// Synthetic Hugging Face directories (seeded random weights) whose config.json is the published one of each
// family with the sizes shrunk (GQA ratio and head_dim rule kept) and every other field kept. Where the family's
// feature would not act at test lengths it is shrunk too: Llama 3's original context to 64, so that at head_dim 16
// and θ 500000 its three frequency bands all occur and the scaled ones turn visibly within 20 positions;
// Mistral's window to 5 keys, shorter than every test context. Qwen2.5 ships with use_sliding_window false; a
// variant turns it on to check the per-layer rule (layers ≥ max_window_layers).
interface Family {
  readonly name: string;
  readonly model: PublishedModel;
  readonly sizes: TestModelSizes;
  readonly overrides: Record<string, unknown>;
  /** Whether the config has a feature (scaling or window) whose absence the reference must notice. */
  readonly featured: boolean;
}

const families: Family[] = [
  {
    name: 'Llama-3.2-1B (llama3 RoPE scaling, tied)',
    model: 'Llama-3.2-1B',
    sizes: { hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 1, vocabSize: 48, maxPositionEmbeddings: 1024 },
    overrides: { rope_scaling: { ...publishedConfigs['Llama-3.2-1B'].rope_scaling, original_max_position_embeddings: 64 } },
    featured: true,
  },
  {
    name: 'Qwen2.5-0.5B (q/k/v biases, tied)',
    model: 'Qwen2.5-0.5B',
    sizes: { hiddenSize: 56, intermediateSize: 96, numHiddenLayers: 2, numAttentionHeads: 7, numKeyValueHeads: 1, vocabSize: 48, maxPositionEmbeddings: 128 },
    overrides: { sliding_window: 128, max_window_layers: 2 },
    featured: false,
  },
  {
    name: 'Qwen2.5-0.5B with use_sliding_window (window in layer 1 only)',
    model: 'Qwen2.5-0.5B',
    sizes: { hiddenSize: 56, intermediateSize: 96, numHiddenLayers: 2, numAttentionHeads: 7, numKeyValueHeads: 1, vocabSize: 48, maxPositionEmbeddings: 128 },
    overrides: { use_sliding_window: true, sliding_window: 5, max_window_layers: 1 },
    featured: true,
  },
  {
    name: 'Mistral-7B-v0.1 (sliding window 5)',
    model: 'Mistral-7B-v0.1',
    sizes: { hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 1, vocabSize: 48, maxPositionEmbeddings: 128 },
    overrides: { sliding_window: 5 },
    featured: true,
  },
];

const sequence = [1, 5, 9, 3, 30, 12, 7, 7, 21, 4, 33, 18, 40, 2, 11, 29, 6, 45, 17, 8];
const text = 'once upon a time, a cat sat on a mat.\nthe dog ran to the park and saw a big red ball.\n';

/**
 * The RoPE frequencies and attention mask of a config.json, read from the JSON as transformers' modelling code
 * reads it (not through the loader): llama3 frequencies from `rope_scaling`; Mistral masks `kv ≤ q − sliding_window`
 * in every layer when the window is set, Qwen2 only with `use_sliding_window` and in layers ≥ `max_window_layers`.
 */
function referenceOptions(json: Record<string, any>): ReferenceOptions {
  const headDim = json.head_dim ?? json.hidden_size / json.num_attention_heads;
  const scaling = json.rope_scaling;
  const windowed = (layer: number): boolean =>
    json.model_type === 'mistral'
      ? json.sliding_window !== null && json.sliding_window !== undefined
      : json.model_type === 'qwen2' && json.use_sliding_window === true && layer >= json.max_window_layers;
  return {
    inverseFrequencies: scaling?.rope_type === 'llama3' ? llama3InverseFrequencies(headDim, json.rope_theta, scaling) : undefined,
    visible: (layer, q, kv) => !windowed(layer) || kv > q - json.sliding_window,
  };
}

function readAll(source: ModelSource): Map<string, Float32Array> {
  return new Map(source.tensors.map((info) => [info.name, source.readTensor(info.name)]));
}

/** max |a − b| over max |b|: the error relative to the logits' scale. */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maxAbsDifference(a, b) / maxAbsDifference(b, new Float64Array(b.length));
}

const temp = makeTempDir();
const dirs = new Map<string, { dir: string; json: Record<string, unknown> }>();
beforeAll(() => {
  for (const [index, family] of families.entries()) {
    const json = shrinkPublishedConfig(family.model, family.sizes, family.overrides);
    const dir = join(temp, `family-${index}`);
    writeHfModelFixture(createSyntheticSourceForHfConfig(json, 31 + index), dir, json);
    dirs.set(family.name, { dir, json });
  }
});

describe('model families on the CPU', () => {
  it('the shrunk Llama 3 config keeps all three llama3 frequency bands', () => {
    const { json } = dirs.get(families[0].name) as { json: Record<string, any> };
    const scaling = json.rope_scaling as Llama3RopeScalingJson;
    const headDim = json.head_dim as number;
    const wavelengths = Array.from({ length: headDim / 2 }, (_, j) => 2 * Math.PI * json.rope_theta ** ((2 * j) / headDim));
    const high = scaling.original_max_position_embeddings / scaling.high_freq_factor;
    const low = scaling.original_max_position_embeddings / scaling.low_freq_factor;
    const kept = wavelengths.filter((w) => w < high).length;
    const divided = wavelengths.filter((w) => w > low).length;
    console.log(`Llama 3 test config: ${kept} kept, ${headDim / 2 - kept - divided} smoothed, ${divided} divided frequencies`);
    expect(kept).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(headDim / 2 - kept - divided).toBeGreaterThan(0);
  });

  for (const family of families) {
    it(`${family.name}: logits, batched and decoded token by token, equal an independent dense computation`, () => {
      const { dir, json } = dirs.get(family.name) as { dir: string; json: Record<string, any> };
      const source = openModel(dir);
      const store = readAll(source);
      const model = createCpuModel(loadWeights(source), { contextLength: 32 });
      source.close();
      const { config } = source;
      expect(config.ropeScaling !== undefined).toBe(json.rope_scaling?.rope_type === 'llama3');
      expect(config.slidingWindow !== undefined).toBe(family.featured && family.model !== 'Llama-3.2-1B');

      const tokens = sequence.map((token) => token % config.vocabSize);
      const options = referenceOptions(json);
      const expected = flatten(referenceLogits(config, store, tokens, options));
      const batched = relativeDifference(model.forward(tokens, 0, { allLogits: true }), expected);
      model.reset();
      const steps = new Float32Array(expected.length);
      tokens.forEach((token, position) => steps.set(model.step(token, position), position * config.vocabSize));
      const stepped = relativeDifference(steps, expected);
      console.log(`${family.name}: CPU vs reference logits, max relative difference ${batched.toExponential(2)} batched, ${stepped.toExponential(2)} token by token`);
      expect(batched).toBeLessThan(1e-5);
      expect(stepped).toBeLessThan(1e-5);

      if (family.featured) {
        // The scaling or the window acts at this length: the plain reference gives clearly other logits.
        const plain = relativeDifference(flatten(referenceLogits(config, store, tokens)), expected);
        expect(plain).toBeGreaterThan(1e-2);
      }
    });
  }
});

const device = await requestTestDevice();

describe.skipIf(!device)('model families on the GPU', () => {
  const gpu = device as GPUDevice;
  afterAll(async () => {
    rmSync(temp, { recursive: true, force: true });
    await releaseTestDevice();
  });

  for (const family of families) {
    it(`${family.name}: window, decoded tokens, greedy decoding and perplexity equal the CPU's`, async () => {
      const { dir } = dirs.get(family.name) as { dir: string };
      const source = openModel(dir);
      const cpu = createCpuModel(loadWeights(source), { contextLength: 32 });
      source.close();
      const vocab = cpu.config.vocabSize;
      await expectGpuEqualsCpu(gpu, family.name, () => openModel(dir), cpu, {
        tolerance: 2e-4,
        prompt: sequence.slice(0, 12).map((token) => token % vocab),
        decoded: [40, 8, 22].map((token) => token % vocab),
        greedyFrom: 9,
        text,
        windowLength: 16,
        contextLength: 32,
      });
    });
  }
});
