import { createCpuModel, loadWeights } from '@vptq/runtime';
import type { CpuLlamaModel } from '@vptq/runtime';
import type { LlamaConfig, Tokenizer } from '@vptq/loader';

import { openModelWithTokenizer } from './load-model';

/** Options of {@link load}. */
export interface LoadOptions {
  /** Tokenizer file or directory. Default: found beside the model (see `openModelWithTokenizer`). */
  readonly tokenizer?: string;
  /** KV-cache positions. Default the model's `maxPositionEmbeddings`. */
  readonly contextLength?: number;
}

/** A model ready to run on the CPU, with its tokenizer. */
export interface LoadedModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  readonly model: CpuLlamaModel;
  /** Where the model came from and in which format. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf' | 'vptq';
}

/**
 * Loads a model for the CPU runtime: a llama2.c `.bin`, a Hugging Face Llama-family directory, or a VPTQ
 * packed directory (quantized linears are dequantized layer by layer on the CPU).
 *
 * @example
 * ```ts
 * import { generate, load } from 'vptq';
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
