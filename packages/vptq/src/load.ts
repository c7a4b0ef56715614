import { createCpuModel, loadWeights } from '@vptq/runtime';

import type { LoadedModel } from './load-cpu';
import { openModelWithTokenizer } from './load-model';

/** Options of {@link load}. */
export interface LoadOptions {
  /** Tokenizer file or directory. Default: found beside the model (see `openModelWithTokenizer`). */
  readonly tokenizer?: string;
  /** KV-cache positions. Default the model's `maxPositionEmbeddings`. */
  readonly contextLength?: number;
}

/**
 * Loads a model from disk for the CPU runtime, synchronously: a llama2.c `.bin`, a Hugging Face Llama-family
 * directory, or a VPTQ packed directory (quantized linears are dequantized layer by layer on the CPU). `loadCpu`
 * of `vptq` does the same from URLs, picked files or bytes.
 *
 * @example
 * ```ts
 * import { generate } from 'vptq';
 * import { load } from 'vptq/node';
 * const { model, tokenizer } = load('stories260K.bin', { tokenizer: 'tok512.bin' });
 * console.log(generate(model, tokenizer, { prompt: 'Once upon a time', maxTokens: 64 }).text);
 * ```
 * @throws {LoaderError} for a missing, truncated or malformed model or tokenizer, naming the file and tensor.
 */
export function load(path: string, options: LoadOptions = {}): LoadedModel {
  const { source, tokenizer } = openModelWithTokenizer(path, options.tokenizer);
  try {
    const weights = loadWeights(source);
    const model = createCpuModel(weights, { contextLength: options.contextLength });
    return { config: source.config, tokenizer, model, path: source.path, format: source.format };
  } finally {
    source.close();
  }
}
