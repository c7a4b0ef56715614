import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { loadTokenizer, openModel } from '@vptq/loader/node';
import type { ModelSource, Tokenizer } from '@vptq/loader';

import { isLlama2cTokenizerName } from './model-location';

/** A model source and its tokenizer, opened from paths. */
export interface OpenedModel {
  readonly source: ModelSource;
  readonly tokenizer: Tokenizer;
  /** The tokenizer file or directory that was used. */
  readonly tokenizerPath: string;
}

/**
 * Opens a model (a llama2.c `.bin`, a Hugging Face directory, or a VPTQ packed directory) and its tokenizer.
 *
 * The tokenizer is `tokenizerPath` when given; otherwise the model directory itself (HF and VPTQ
 * directories carry theirs), or for a llama2.c `.bin` the only `tok*.bin` / `tokenizer.bin` file beside it.
 * @throws {Error} naming the model when no tokenizer is given and none can be found unambiguously.
 */
export function openModelWithTokenizer(modelPath: string, tokenizerPath?: string): OpenedModel {
  const source = openModel(modelPath);
  try {
    const resolved = tokenizerPath ?? (statSync(modelPath).isDirectory() ? modelPath : findTokenizerBeside(modelPath));
    return { source, tokenizer: loadTokenizer(resolved), tokenizerPath: resolved };
  } catch (error) {
    source.close();
    throw error;
  }
}

/**
 * The llama2.c tokenizer beside a llama2.c checkpoint: the only `tok*.bin` or `tokenizer.bin` in its folder.
 * @throws {Error} when there is none or more than one.
 */
export function findTokenizerBeside(modelPath: string): string {
  const dir = dirname(modelPath);
  const candidates = readdirSync(dir).filter(
    (name) => name !== basename(modelPath) && isLlama2cTokenizerName(name) && existsSync(join(dir, name)),
  );
  if (candidates.length !== 1) {
    throw new Error(
      `no tokenizer given for ${modelPath}: pass --tokenizer FILE (found ${candidates.length === 0 ? 'no tok*.bin' : candidates.join(', ')} beside the model)`,
    );
  }
  return join(dir, candidates[0]);
}
