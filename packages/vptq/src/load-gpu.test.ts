import { readFileSync } from 'node:fs';

import { nodeModelFiles } from '@vptq/loader/node';
import { generate, perplexity } from '@vptq/runtime';
import { fixturePath, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { load } from './load';
import { loadGpu } from './load-gpu';

const device = await requestTestDevice();
const modelPath = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const model = nodeModelFiles(modelPath);
const tokenizer = nodeModelFiles(fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'));
const sample = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8');

describe('loadGpu', () => {
  it('needs a device', async () => {
    await expect(loadGpu(model, {} as never)).rejects.toThrow(/options.device must be a GPUDevice/);
  });

  it('names nodeModelFiles when handed a path instead of a URL', async () => {
    await expect(loadGpu(modelPath, { device: { createBuffer() {} } as never })).rejects.toThrow(
      /is not a URL; open a path on disk with nodeModelFiles\(path\) from vptq\/node/,
    );
  });

  describe.skipIf(!device)('on a WebGPU device', () => {
    const gpu = device as GPUDevice;
    afterAll(releaseTestDevice);

    it('evaluates and generates as the CPU model does, and release() frees the model but not the device', async () => {
      const cpu = load(modelPath, { tokenizer: fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin') });
      const loaded = await loadGpu(model, { device: gpu, tokenizer });
      expect(loaded.format).toBe('llama2c');
      expect(loaded.config).toEqual(cpu.config);
      try {
        const onGpu = await perplexity(loaded.model, loaded.tokenizer, sample, { maxStories: 3 });
        const onCpu = perplexity(cpu.model, cpu.tokenizer, sample, { maxStories: 3 });
        expect(onGpu.tokens).toBe(onCpu.tokens);
        expect(Math.abs(onGpu.perplexity / onCpu.perplexity - 1)).toBeLessThan(1e-4);
        const text = (await generate(loaded.model, loaded.tokenizer, { prompt: 'Once upon a time', maxTokens: 24 })).text;
        expect(text).toBe(generate(cpu.model, cpu.tokenizer, { prompt: 'Once upon a time', maxTokens: 24 }).text);
      } finally {
        loaded.release();
      }
      await expect(loaded.model.forward([1], 0)).rejects.toThrow();
      // The device still works: the caller owns it.
      const again = await loadGpu(model, { device: gpu, tokenizer, contextLength: 64 });
      again.release();
    });
  });
});
