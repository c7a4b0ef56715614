import type { ModelSource } from '@vptq/loader';
import { maxAbsDifference } from '@vptq/test-utils';
import { expect } from 'vitest';

import type { CpuLlamaModel } from '../create-cpu-model';
import { createGpuModel } from '../gpu/create-gpu-model';
import { perplexity } from '../perplexity';
import { createCharTokenizer } from './synthetic-model';

/** What {@link expectGpuEqualsCpu} runs. */
export interface GpuCpuCheck {
  /** Largest |GPU − CPU| logit allowed, for the window and for each decoded token. */
  readonly tolerance: number;
  /** Run as one window from position 0 (all logits compared). */
  readonly prompt: readonly number[];
  /** Decoded one by one after the prompt (the single-token path). */
  readonly decoded: readonly number[];
  /** The token greedy decoding starts from, at the position after the prompt. */
  readonly greedyFrom: number;
  /** Scored by `perplexity` with the character tokenizer of `createCharTokenizer`. */
  readonly text: string;
  readonly windowLength: number;
  readonly contextLength: number;
}

/** The differences {@link expectGpuEqualsCpu} measured. */
export interface GpuCpuDifferences {
  /** max |Δlogit| over the prompt window. */
  readonly window: number;
  /** max |Δlogit| over the decoded tokens. */
  readonly decode: number;
  readonly cpuPerplexity: number;
  readonly gpuPerplexity: number;
  /** |GPU − CPU| / CPU perplexity. */
  readonly perplexity: number;
  readonly dispatchesPerToken: number;
}

/**
 * Test helper: builds the GPU model of `open()` and checks it against the CPU model `cpu` of the same weights: the
 * logits of a prompt window and of single decoded tokens within `tolerance`, 8 greedy tokens after the prompt
 * identical, and the perplexity of `text` within 1e-4 (relative). Logs and returns the differences.
 */
export async function expectGpuEqualsCpu(device: GPUDevice, label: string, open: () => ModelSource, cpu: CpuLlamaModel, check: GpuCpuCheck): Promise<GpuCpuDifferences> {
  const source = open();
  const model = await createGpuModel(device, source, { contextLength: check.contextLength });
  source.close();
  try {
    const { prompt } = check;
    const window = maxAbsDifference(await model.forward(prompt, 0, { allLogits: true }), cpu.forward(prompt, 0, { allLogits: true }));
    // Single decoded tokens take the path that would fold the residual into o_proj's bias input.
    let decode = 0;
    for (const [offset, token] of check.decoded.entries()) {
      const position = prompt.length + offset;
      decode = Math.max(decode, maxAbsDifference(await model.forward([token], position), cpu.forward([token], position)));
    }
    const expectedGreedy: number[] = [];
    let next = check.greedyFrom;
    for (let step = 0; step < 8; step++) {
      const logits = cpu.forward([next], prompt.length + step);
      next = logits.indexOf(Math.max(...logits));
      expectedGreedy.push(next);
    }
    const greedy = await model.decodeGreedy(check.greedyFrom, prompt.length, { maxTokens: 8 });
    const tokenizer = createCharTokenizer();
    const cpuPerplexity = perplexity(cpu, tokenizer, check.text, { windowLength: check.windowLength }).perplexity;
    const gpuPerplexity = (await perplexity(model, tokenizer, check.text, { windowLength: check.windowLength })).perplexity;
    const relative = Math.abs(gpuPerplexity - cpuPerplexity) / cpuPerplexity;
    console.log(
      `${label}: GPU vs CPU max |Δlogit| window ${window.toExponential(2)}, decode ${decode.toExponential(2)}; perplexity ${cpuPerplexity.toFixed(4)} vs ${gpuPerplexity.toFixed(4)} (relative ${relative.toExponential(2)})`,
    );
    expect(window).toBeLessThan(check.tolerance);
    expect(decode).toBeLessThan(check.tolerance);
    expect(greedy.tokens).toEqual(expectedGreedy);
    expect(Number.isFinite(cpuPerplexity)).toBe(true);
    expect(relative).toBeLessThan(1e-4);
    return { window, decode, cpuPerplexity, gpuPerplexity, perplexity: relative, dispatchesPerToken: model.dispatchesPerToken };
  } finally {
    model.destroy();
  }
}
