import { createCpuModel, loadWeights } from '@vptq/runtime';
import type { CpuLlamaModel } from '@vptq/runtime';
import type { LlamaConfig, Tokenizer } from '@vptq/loader';

import type { ModelLocation } from './model-location';
import { openModelAt } from './open-model-at';

/** Options of {@link loadCpu}. */
export interface LoadCpuOptions {
  /** Where the tokenizer is (a file or a directory). Default: the model directory's own, or for a llama2.c `.bin` the `tok*.bin` beside it. */
  readonly tokenizer?: ModelLocation;
  /** KV-cache positions. Default the model's `maxPositionEmbeddings`. */
  readonly contextLength?: number;
}

/** A model ready to run on the CPU, with its tokenizer. */
export interface LoadedModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  readonly model: CpuLlamaModel;
  /** Where the model came from (a path or a URL) and in which format. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf' | 'vptq';
}

/**
 * Loads a model for the CPU runtime from anywhere: a URL of a model directory or a llama2.c `.bin` on a web server,
 * files a user picked, bytes in memory, or `nodeModelFiles(path)` (see {@link ModelLocation}). The model is a
 * llama2.c checkpoint, a Hugging Face Llama-family directory, or a VPTQ packed directory (quantized linears are
 * dequantized on the CPU). Its files are fetched once (HTTP Range requests where the server honours them) and
 * released when the weights are built. In Node, `load(path)` of `vptq/node` does the same synchronously.
 *
 * @example
 * ```ts
 * import { generate, loadCpu } from 'vptq';
 * const { model, tokenizer } = await loadCpu('https://example.com/models/stories260K-vptq/');
 * console.log(generate(model, tokenizer, { prompt: 'Once upon a time', maxTokens: 64 }).text);
 * ```
 * @throws {TypeError} for a location that is neither a URL nor files (a path outside `nodeModelFiles`).
 * @throws {LoaderError} (as a rejection) for a missing, unreachable, truncated or malformed model or tokenizer,
 * naming the file or URL and the tensor.
 */
export async function loadCpu(source: ModelLocation, options: LoadCpuOptions = {}): Promise<LoadedModel> {
  const opened = await openModelAt('loadCpu', source, options.tokenizer);
  const model = opened.source;
  try {
    await model.prefetch(model.tensors.map((tensor) => tensor.name));
    const weights = loadWeights(model);
    const cpu = createCpuModel(weights, { contextLength: options.contextLength });
    return { config: model.config, tokenizer: opened.tokenizer, model: cpu, path: model.path, format: model.format };
  } finally {
    model.close();
  }
}
