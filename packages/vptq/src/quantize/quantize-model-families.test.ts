import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { openModel } from '@vptq/loader/node';
import type { LlamaConfig, VptqModelSource } from '@vptq/loader';
import { createGpuModel, perplexity } from '@vptq/runtime';
import { fixturePath, makeTempDir, maxAbsDifference, publishedConfigs, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import type { PublishedModel } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { load } from '../load';
import { writeStoriesVariant } from '../test/write-stories-variant';
import { quantize } from './quantize-model';
import type { QuantizeOptions } from './quantize-options';

const sample = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8');

// Small but real, at 4 index bits (v2 k256): at 2 bits this tiny model loses most of its quality (perplexity
// 3.6 → 100–200), and "near the original" would say nothing.
const settings: Omit<QuantizeOptions, 'model' | 'out'> = {
  device: 'cpu',
  calibration: fixturePath('tinystories-train-head', 'tinystories.txt'),
  calibrationTokens: 3000,
  kmeansIterations: 8,
  refineIterations: 2,
  vectorLength: 2,
  numCentroids: 256,
  numResidualCentroids: 0,
};

/**
 * The trained weights of stories260K under each family's published config.json: every published field kept except
 * the sizes and token ids (stories260K's: hidden 64, 8 heads of 8 over 4 KV heads, 5 layers, vocab 512, 512
 * positions, BOS 1, EOS 2; real weights fix the GQA ratio at 2), with the family's feature shrunk so that it acts
 * within the 512-position calibration and evaluation windows: Llama 3's original context 256 (its three frequency
 * bands at head_dim 8 and θ 500000), Mistral's window 64 keys. Qwen2.5 keeps its window off (use_sliding_window
 * false, max_window_layers = layers, as published) and gets the q/k/v biases its architecture has.
 */
const families: Array<{ readonly model: PublishedModel; readonly overrides: Record<string, unknown>; readonly biases?: RegExp; readonly untie?: boolean }> = [
  { model: 'Llama-3.2-1B', overrides: { rope_scaling: { ...publishedConfigs['Llama-3.2-1B'].rope_scaling, original_max_position_embeddings: 256 } } },
  { model: 'Qwen2.5-0.5B', overrides: { sliding_window: 512, max_window_layers: 5 }, biases: /^(model\.layers\.\d+\.self_attn\.[qkv]_proj)\.weight$/ },
  { model: 'Mistral-7B-v0.1', overrides: { sliding_window: 64 }, untie: true },
];

const sizeKeys = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'max_position_embeddings', 'bos_token_id', 'eos_token_id'];

function familyConfig(model: PublishedModel, overrides: Record<string, unknown>, converted: Record<string, unknown>): Record<string, unknown> {
  const published: Record<string, unknown> = publishedConfigs[model];
  const sizes = Object.fromEntries(sizeKeys.map((key) => [key, converted[key]]));
  return { ...structuredClone(published), ...sizes, ...('head_dim' in published ? { head_dim: converted.head_dim } : {}), ...overrides };
}

const device = await requestTestDevice();
afterAll(async () => {
  if (device) await releaseTestDevice();
});

for (const family of families) {
  describe(`quantize ${family.model} (stories260K weights under its published config)`, () => {
    const dir = makeTempDir();
    const hf = join(dir, 'hf');
    const out = join(dir, 'vptq');
    let original: LlamaConfig | undefined;
    let quantizedPerplexity = Number.NaN;

    it('writes a directory that keeps the config, loads with the same RoPE scaling and window, and evaluates near the original', async () => {
      writeStoriesVariant(hf, { config: (converted) => familyConfig(family.model, family.overrides, converted), biases: family.biases, untie: family.untie });
      const fp32 = load(hf);
      original = fp32.config;
      if (family.model === 'Llama-3.2-1B') expect(original.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256 });
      if (family.model === 'Mistral-7B-v0.1') expect(original.slidingWindow).toEqual({ size: 64, layers: [0, 1, 2, 3, 4] });
      if (family.model === 'Qwen2.5-0.5B') expect(original).toMatchObject({ attentionBias: true, tieWordEmbeddings: true });
      const originalPerplexity = perplexity(fp32.model, fp32.tokenizer, sample).perplexity;

      const result = await quantize({ ...settings, model: hf, out });
      expect(result.projections).toHaveLength(35);
      const written = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;
      const { torch_dtype: _dtype, ...kept } = written;
      expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject(kept);
      const source = openModel(out) as VptqModelSource;
      source.close();
      expect(source.format).toBe('vptq');
      expect(source.config).toEqual(original);
      expect(source.quantizedLayers.filter((layer) => layer.config.bias)).toHaveLength(family.biases ? 15 : 0);

      const quantized = load(out);
      quantizedPerplexity = perplexity(quantized.model, quantized.tokenizer, sample).perplexity;
      console.log(`${family.model} (stories260K weights): fp32 perplexity ${originalPerplexity.toFixed(4)}, VPTQ v2 k256 ${quantizedPerplexity.toFixed(4)}`);
      expect(Number.isFinite(quantizedPerplexity)).toBe(true);
      expect(quantizedPerplexity).toBeGreaterThan(originalPerplexity * 0.95);
      expect(quantizedPerplexity).toBeLessThan(originalPerplexity * 1.5);
    });

    it.skipIf(!device)('the quantized directory evaluates on the GPU equal to the CPU, past the window', async () => {
      expect(Number.isFinite(quantizedPerplexity)).toBe(true);
      const cpu = load(out);
      const source = openModel(out);
      const gpu = await createGpuModel(device as GPUDevice, source);
      source.close();
      try {
        // 100+ tokens: longer than Mistral's 64-key window, so the window cuts in the prefill and in decoding.
        const tokens = cpu.tokenizer.encode(sample.slice(0, 600), { bos: true }).slice(0, 120);
        expect(tokens.length).toBe(120);
        const window = maxAbsDifference(await gpu.forward(tokens, 0, { allLogits: true }), cpu.model.forward(tokens, 0, { allLogits: true }));
        const step = maxAbsDifference(await gpu.forward([9], tokens.length), cpu.model.forward([9], tokens.length));
        const onGpu = (await perplexity(gpu, cpu.tokenizer, sample)).perplexity;
        const relative = Math.abs(onGpu - quantizedPerplexity) / quantizedPerplexity;
        console.log(`${family.model}: GPU vs CPU max |Δlogit| window ${window.toExponential(2)}, decode ${step.toExponential(2)}; perplexity ${onGpu.toFixed(4)} vs ${quantizedPerplexity.toFixed(4)} (relative ${relative.toExponential(2)})`);
        expect(window).toBeLessThan(2e-4);
        expect(step).toBeLessThan(2e-4);
        expect(relative).toBeLessThan(1e-4);
      } finally {
        gpu.destroy();
      }
    });
  });
}
