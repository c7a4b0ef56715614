import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { openModel } from '@vptq/loader/node';
import type { ModelSource } from '@vptq/loader';
import { makeTempDir, maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { createCpuModel } from '../create-cpu-model';
import { loadWeights } from '../load-weights';
import { createSyntheticSource } from '../test/synthetic-model';
import { createGpuModel } from './create-gpu-model';
import { writeHfModelFixture, writeVptqModelFixture } from '../test/write-vptq-model';

const device = await requestTestDevice();

// Widths that are multiples of 64 floats (256 bytes): a decoded token keeps q|k|v and gate|up adjacent and
// dense q/k/v and gate/up run as one stacked GEMV each (GQA: 8 query heads over 4 KV heads).
const aligned = { hiddenSize: 128, numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 16, intermediateSize: 192, vocabSize: 64 };

function roundedToF16(source: ModelSource): ModelSource {
  return {
    ...source,
    readTensor(name) {
      const values = source.readTensor(name);
      return name.endsWith('norm.weight') ? values : values.map((value) => f16BitsToF32(f32ToF16Bits(value)));
    },
  };
}

describe.skipIf(!device)('decode with stacked projections and adjacent q|k|v (aligned widths)', () => {
  const gpu = device as GPUDevice;
  const temp = makeTempDir();
  afterAll(async () => {
    rmSync(temp, { recursive: true, force: true });
    await releaseTestDevice();
  });

  const openPacked = (): { gpuSource: ModelSource; cpuSource: ModelSource; close(): void } => {
    writeHfModelFixture(createSyntheticSource({ ...aligned, tieWordEmbeddings: false }, 13), join(temp, 'hf'));
    writeVptqModelFixture(join(temp, 'hf'), join(temp, 'vptq'));
    const gpuSource = openModel(join(temp, 'vptq'));
    const cpuSource = openModel(join(temp, 'vptq'));
    return { gpuSource, cpuSource, close: () => (gpuSource.close(), cpuSource.close()) };
  };
  const cases: {
    name: string;
    open: () => { gpuSource: ModelSource; cpuSource: ModelSource; close(): void };
    weightFormat: 'f32' | 'f16';
    dispatches: number;
    vqIndexLayout?: 'lanes';
  }[] = [
    {
      name: 'dense f32',
      open: () => ({ gpuSource: createSyntheticSource(aligned, 11), cpuSource: createSyntheticSource(aligned, 11), close() {} }),
      weightFormat: 'f32',
      // Embedding; per layer q|k|v GEMV, RoPE + KV append (with the input norm's inverse RMS: its gain is folded
      // into the f32 weights), attention (one split at a 32-position cache), o, gate|up GEMV, SwiGLU (with the
      // post-attention norm's inverse RMS), down; norm, classifier, argmax.
      dispatches: 1 + 2 * 7 + 3,
    },
    {
      name: 'dense f16',
      open: () => ({ gpuSource: createSyntheticSource(aligned, 12), cpuSource: roundedToF16(createSyntheticSource(aligned, 12)), close() {} }),
      weightFormat: 'f16',
      // f16 storage does not fold the gains by default (f16(W·g) ≠ f16(W)·g): both RMSNorms stay.
      dispatches: 1 + 2 * 9 + 3,
    },
    {
      name: 'VPTQ packed',
      open: openPacked,
      weightFormat: 'f32',
      // As dense, with q/k/v and gate/up each one fused VQ-GEMV dispatch over layers in shared buffers, but the
      // down projection reads SwiGLU of [gate | up] itself (no SwiGLU dispatch) and q/k/v (one group, no
      // outliers) RMS-normalize x themselves (the gain folded in); gate/up have groups and outliers, so their
      // RMSNorm (unit gain) stays. Each of the 4 VQ-GEMVs of a layer may add a split-K reduction, and one that
      // takes the on-chip kernel also its prepare pass (perm, norm, SwiGLU, Σx²).
      dispatches: 1 + 2 * 8 + 3,
    },
    {
      // q/k/v, o and down in the lanes index layout, read by the lanes VQ-GEMV (stacked, normalizing, reading
      // SwiGLU) and, for windows above 8 tokens, by the dequantization; gate/up has outliers and keeps the rows
      // layout and the streaming kernel.
      name: 'VPTQ packed, lanes index layout',
      open: openPacked,
      weightFormat: 'f32',
      dispatches: 1 + 2 * 8 + 3,
      vqIndexLayout: 'lanes',
    },
  ];

  for (const { name, open, weightFormat, dispatches, vqIndexLayout } of cases) {
    it(`${name}: window, single steps and greedy decoding match the CPU`, async () => {
      const sources = open();
      const cpu = createCpuModel(loadWeights(sources.cpuSource), { contextLength: 32 });
      const model = await createGpuModel(gpu, sources.gpuSource, { weightFormat, contextLength: 32, vqIndexLayout });
      sources.close();
      try {
        if (name.startsWith('VPTQ packed')) expect(model.dispatchesPerToken).toBeGreaterThanOrEqual(dispatches), expect(model.dispatchesPerToken).toBeLessThanOrEqual(dispatches + 2 * 4 * 2);
        else expect(model.dispatchesPerToken).toBe(dispatches);
        // A 12-token window runs the packed projections as dequantization + GEMM (more than 8 tokens).
        const window = [1, 17, 33, 2, 63, 5, 8, 9, 10, 11, 12, 13];
        expect(maxAbsDifference(await model.forward(window, 0, { allLogits: true }), cpu.forward(window, 0, { allLogits: true }))).toBeLessThan(2e-4);
        const prompt = [1, 17, 33, 2, 63, 5];
        expect(maxAbsDifference(await model.forward(prompt, 0, { allLogits: true }), cpu.forward(prompt, 0, { allLogits: true }))).toBeLessThan(2e-4);
        for (const [offset, token] of [40, 8, 22].entries()) {
          const position = prompt.length + offset;
          expect(maxAbsDifference(await model.forward([token], position), cpu.forward([token], position))).toBeLessThan(2e-4);
        }
        const expected: number[] = [];
        let next = 9;
        for (let step = 0; step < 10; step++) {
          const logits = cpu.forward([next], prompt.length + step);
          next = logits.indexOf(Math.max(...logits));
          expected.push(next);
        }
        const greedy = await model.decodeGreedy(9, prompt.length, { maxTokens: 10 });
        expect(greedy.tokens).toEqual(expected);
      } finally {
        model.destroy();
      }
    });
  }
});
