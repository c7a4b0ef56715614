import { createBufferWithData, createStorageBuffer, readBuffer } from '@vptq/kernels-webgpu/authoring';
import type { LinearInput } from '@vptq/loader';
import { maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { forwardDecoderLayer } from '../forward-decoder-layer';
import { loadLayerWeights } from '../load-weights';
import { createSyntheticSource } from '../test/synthetic-model';
import { createGpuLayerRunner } from './gpu-layer-runner';
import { uploadLayerWeights } from './upload-llama-weights';

const device = await requestTestDevice();

describe.skipIf(!device)('createGpuLayerRunner', () => {
  const gpu = device as GPUDevice;
  afterAll(async () => {
    await releaseTestDevice();
  });

  // 12 rows in windows of 5 (5, 5, 2), each run in chunks of at most 3: positions restart per window, the KV cache
  // carries across the chunks of one window; layer 1 has a sliding window of 2 and q/k/v have biases.
  const window = 5;
  const chunk = 3;
  const tokens = 12;

  it('runs each layer over the stream in windows and chunks as the CPU runs each window, and captures every input of every chunk', async () => {
    const source = createSyntheticSource({ modelType: 'qwen2', attentionBias: true, slidingWindow: { size: 2, layers: [1] } }, 5);
    const { config } = source;
    const hidden = config.hiddenSize;
    const embed = source.readTensor('model.embed_tokens.weight');
    const ids = [1, 5, 9, 3, 30, 2, 17, 8, 11, 4, 4, 20];
    const cpu = new Float32Array(tokens * hidden);
    ids.forEach((id, t) => cpu.set(embed.subarray(id * hidden, (id + 1) * hidden), t * hidden));
    const stream = createBufferWithData(gpu, 'stream', cpu);
    const runner = await createGpuLayerRunner(gpu, config, { window, chunk });
    try {
      for (let layer = 0; layer < config.numHiddenLayers; layer++) {
        // The CPU runs each window alone; its inputs are cut into the GPU's chunks.
        const expected: { label: string; input: Float32Array }[] = [];
        for (let start = 0; start < tokens; start += window) {
          const rows = Math.min(window, tokens - start);
          const byGroup: { group: LinearInput; input: Float32Array; width: number }[] = [];
          forwardDecoderLayer(config, layer, loadLayerWeights(source, layer), cpu.subarray(start * hidden, (start + rows) * hidden), rows, {
            onLinearInput: (event) => byGroup.push({ group: event.group, input: event.input.slice(), width: event.inFeatures }),
          });
          for (let offset = 0; offset < rows; offset += chunk) {
            const count = Math.min(chunk, rows - offset);
            for (const { group, input, width } of byGroup) {
              expected.push({ label: `${layer}:${group}:${count}:${width}`, input: input.subarray(offset * width, (offset + count) * width) });
            }
          }
        }
        const captured: { label: string; input: Float32Array }[] = [];
        const weights = uploadLayerWeights(gpu, source, layer);
        try {
          await runner.run(layer, weights, stream, tokens, {
            capture: async (event) => {
              const bytes = await readBuffer(gpu, event.input, event.tokens * event.inFeatures * 4);
              captured.push({ label: `${event.layer}:${event.group}:${event.tokens}:${event.inFeatures}`, input: new Float32Array(bytes) });
            },
          });
        } finally {
          weights.destroy();
        }
        expect(captured.map((entry) => entry.label)).toEqual(expected.map((entry) => entry.label));
        captured.forEach((entry, index) => expect(maxAbsDifference(entry.input, expected[index].input), `${entry.label} #${index}`).toBeLessThan(2e-5));
        const out = new Float32Array(await readBuffer(gpu, stream));
        // The GPU continues from its own output, the CPU from its own: both compared again after the next layer.
        expect(maxAbsDifference(out, cpu), `layer ${layer} output`).toBeLessThan(2e-5);
      }
    } finally {
      runner.destroy();
      stream.destroy();
    }
  });

  it('writes to another buffer or nowhere when asked, and names a bad stream', async () => {
    const source = createSyntheticSource({}, 6);
    const hidden = source.config.hiddenSize;
    const input = new Float32Array(4 * hidden).map((_, i) => Math.sin(i));
    const stream = createBufferWithData(gpu, 'stream', input);
    const output = createStorageBuffer(gpu, 'output', input.byteLength);
    const runner = await createGpuLayerRunner(gpu, source.config, { window: 4 });
    const weights = uploadLayerWeights(gpu, source, 0);
    try {
      await runner.run(0, weights, stream, 4, { output });
      expect(new Float32Array(await readBuffer(gpu, stream))).toEqual(input);
      let captures = 0;
      await runner.run(0, weights, stream, 4, { output: null, capture: () => void captures++ });
      expect(new Float32Array(await readBuffer(gpu, stream))).toEqual(input);
      expect(captures).toBe(4);
      const cpu = input.slice();
      forwardDecoderLayer(source.config, 0, loadLayerWeights(source, 0), cpu, 4);
      expect(maxAbsDifference(new Float32Array(await readBuffer(gpu, output)), cpu)).toBeLessThan(2e-5);
      await expect(runner.run(0, weights, stream, 5)).rejects.toThrow(/stream must hold tokens × hiddenSize f32 \(5 × 24, 480 bytes; got 384\)/);
      await expect(runner.run(2, weights, stream, 4)).rejects.toThrow('index must be an integer in [0, 2) (got 2)');
    } finally {
      weights.destroy();
      runner.destroy();
      stream.destroy();
      output.destroy();
    }
  });
});
