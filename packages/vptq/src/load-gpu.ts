/// <reference types="@webgpu/types" />
import type { LlamaConfig, Tokenizer } from '@vptq/loader';
import { createGpuModel } from '@vptq/runtime';
import type { GpuLlamaModel, GpuModelOptions } from '@vptq/runtime';

import { openModelWithTokenizer } from './load-model';

/** Options of {@link loadGpu}. */
export interface LoadGpuOptions extends Pick<GpuModelOptions, 'contextLength' | 'prefillChunkTokens'> {
  /**
   * The WebGPU device to run on: `createNodeDevice()` from `vptq/node` in Node (Dawn), or
   * `(await navigator.gpu.requestAdapter()).requestDevice(…)` in a browser (see `acquireDevice` in
   * `@vptq/kernels-webgpu` for the limits and features the kernels use). The caller owns it.
   */
  readonly device: GPUDevice;
  /** Tokenizer file or directory. Default: found beside the model (see `openModelWithTokenizer`). */
  readonly tokenizer?: string;
}

/** A model on a WebGPU device, with its tokenizer. */
export interface LoadedGpuModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  /** Runs with `perplexity` and `generate` (which then return Promises). */
  readonly model: GpuLlamaModel;
  /** Where the model came from and in which format. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf' | 'vptq';
  /** Frees the model's GPU buffers (not the device, which belongs to the caller). Later calls to the model throw. */
  release(): void;
}

/**
 * Loads a model onto a WebGPU device: a llama2.c `.bin`, a Hugging Face Llama-family directory, or a VPTQ
 * packed directory. Dense weights go up as f32 (f16 where the device has `shader-f16`), VPTQ layers stay packed
 * and run through the fused VQ-GEMV when decoding. The whole forward pass and the KV cache live on the GPU.
 *
 * @example
 * ```ts
 * import { generate, loadGpu, perplexity } from 'vptq';
 * import { createNodeDevice, releaseNodeDevice } from 'vptq/node';
 *
 * const { device } = await createNodeDevice();
 * const gpu = await loadGpu('stories260K-vptq', { device });
 * try {
 *   console.log((await generate(gpu.model, gpu.tokenizer, { prompt: 'Once upon a time', maxTokens: 64 })).text);
 * } finally {
 *   gpu.release();
 *   releaseNodeDevice(device);
 * }
 * ```
 * @throws {LoaderError} for a missing, truncated or malformed model or tokenizer, naming the file and tensor.
 * @throws {WebGpuError} when the device rejects a kernel or a buffer (e.g. above its limits) or is lost.
 */
export async function loadGpu(path: string, options: LoadGpuOptions): Promise<LoadedGpuModel> {
  if (typeof options !== 'object' || options === null || typeof options.device?.createBuffer !== 'function') {
    throw new TypeError('loadGpu: options.device must be a GPUDevice (createNodeDevice() from vptq/node, or navigator.gpu in a browser)');
  }
  const { source, tokenizer } = openModelWithTokenizer(path, options.tokenizer);
  try {
    const model = await createGpuModel(options.device, source, {
      contextLength: options.contextLength,
      prefillChunkTokens: options.prefillChunkTokens,
    });
    return { config: source.config, tokenizer, model, path: source.path, format: source.format, release: () => model.destroy() };
  } finally {
    source.close();
  }
}
