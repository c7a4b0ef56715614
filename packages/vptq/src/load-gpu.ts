/// <reference types="@webgpu/types" />
import type { LlamaConfig, Tokenizer } from '@vptq/loader';
import { createGpuModel } from '@vptq/runtime';
import type { GpuLlamaModel, GpuModelOptions } from '@vptq/runtime';

import type { ModelLocation } from './model-location';
import { openModelAt } from './open-model-at';

/** Options of {@link loadGpu}. */
export interface LoadGpuOptions extends Pick<GpuModelOptions, 'contextLength' | 'prefillChunkTokens'> {
  /**
   * The WebGPU device to run on: `(await navigator.gpu.requestAdapter()).requestDevice(…)` in a browser, or
   * `createNodeDevice()` from `vptq/node` in Node (Dawn); see `acquireDevice` in `@vptq/kernels-webgpu` for the
   * limits and features the kernels use. The caller owns it.
   */
  readonly device: GPUDevice;
  /** Where the tokenizer is (a file or a directory). Default: the model directory's own, or for a llama2.c `.bin` the `tok*.bin` beside it. */
  readonly tokenizer?: ModelLocation;
}

/** A model on a WebGPU device, with its tokenizer. */
export interface LoadedGpuModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  /** Runs with `perplexity` and `generate` (which then return Promises). */
  readonly model: GpuLlamaModel;
  /** Where the model came from (a path or a URL) and in which format. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf' | 'vptq';
  /** Frees the model's GPU buffers (not the device, which belongs to the caller). Later calls to the model throw. */
  release(): void;
}

/**
 * Loads a model onto a WebGPU device from anywhere: a URL of a model directory or a llama2.c `.bin` on a web
 * server, files a user picked, bytes in memory, or `nodeModelFiles(path)` of `vptq/node` (see
 * {@link ModelLocation}). The model is a llama2.c checkpoint, a Hugging Face Llama-family directory, or a VPTQ
 * packed directory. Its tensors are fetched and uploaded one decoder layer at a time (HTTP Range requests where the
 * server honours them). Dense weights go up as f32 (f16 where the device has `shader-f16`), VPTQ layers stay packed
 * and run through the fused VQ-GEMV when decoding. The whole forward pass and the KV cache live on the GPU.
 *
 * @example
 * ```ts
 * import { generate, loadGpu } from 'vptq';
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const gpu = await loadGpu('/models/stories260K-vptq/', { device });
 * try {
 *   console.log((await generate(gpu.model, gpu.tokenizer, { prompt: 'Once upon a time', maxTokens: 64 })).text);
 * } finally {
 *   gpu.release();
 * }
 * ```
 * In Node: `loadGpu(nodeModelFiles('stories260K-vptq'), { device: (await createNodeDevice()).device })`, both from
 * `vptq/node`.
 * @throws {TypeError} without a device, or for a location that is neither a URL nor files.
 * @throws {LoaderError} for a missing, unreachable, truncated or malformed model or tokenizer, naming the file or
 * URL and the tensor.
 * @throws {WebGpuError} when the device rejects a kernel or a buffer (e.g. above its limits) or is lost.
 */
export async function loadGpu(source: ModelLocation, options: LoadGpuOptions): Promise<LoadedGpuModel> {
  if (typeof options !== 'object' || options === null || typeof options.device?.createBuffer !== 'function') {
    throw new TypeError('loadGpu: options.device must be a GPUDevice (navigator.gpu in a browser, or createNodeDevice() from vptq/node)');
  }
  const opened = await openModelAt('loadGpu', source, options.tokenizer);
  const model = opened.source;
  try {
    const gpu = await createGpuModel(options.device, model, {
      contextLength: options.contextLength,
      prefillChunkTokens: options.prefillChunkTokens,
    });
    return { config: model.config, tokenizer: opened.tokenizer, model: gpu, path: model.path, format: model.format, release: () => gpu.destroy() };
  } finally {
    model.close();
  }
}
