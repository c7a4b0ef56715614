/// <reference types="@webgpu/types" />
import type { LlamaConfig, Tokenizer } from '@vptq/loader';
import { createGpuModel } from '@vptq/runtime';
import type { GpuLlamaModel } from '@vptq/runtime';

import { openModelWithTokenizer } from './load-model';
import { createNodeDevice, releaseNodeDevice } from './node';

/** A model on a WebGPU device (Dawn in Node), with its tokenizer. */
export interface LoadedGpuModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  readonly model: GpuLlamaModel;
  /** The adapter, e.g. `nvidia …` or `mesa llvmpipe`. */
  readonly adapter: string;
  /** Frees the model's GPU buffers and the device. */
  release(): void;
}

/**
 * Loads a model onto the GPU through Dawn: dense weights as f32, VPTQ layers kept packed and run through the
 * fused VQ-GEMV. Same inputs as `load`.
 */
export async function loadGpu(path: string, options: { readonly tokenizer?: string } = {}): Promise<LoadedGpuModel> {
  const { device, info } = await createNodeDevice();
  try {
    const { source, tokenizer } = openModelWithTokenizer(path, options.tokenizer);
    try {
      const model = await createGpuModel(device, source);
      const adapter = `${info.adapterInfo.vendor} ${info.adapterInfo.device || info.adapterInfo.description}`.trim();
      return {
        config: source.config,
        tokenizer,
        model,
        adapter,
        release: () => {
          model.destroy();
          releaseNodeDevice(device);
        },
      };
    } finally {
      source.close();
    }
  } catch (error) {
    releaseNodeDevice(device);
    throw error;
  }
}
