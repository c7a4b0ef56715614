import { basename, dirname, join } from 'node:path';

import { loadHfTokenizer } from './load-hf-tokenizer';
import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
import { LoaderError } from './loader-error';
import type { Tokenizer } from './model-types';
import { statOrThrow, statOrUndefined } from './open-model';

/**
 * Loads a tokenizer whatever its format. A file named `tokenizer.json` loads its directory as a Hugging Face
 * tokenizer; any other file is read as a llama2.c tokenizer `.bin`. A directory loads its `tokenizer.bin`
 * (llama2.c, preferred: {@link convertLlama2cToHf} leaves one there when tokenizer.json is not provably
 * identical) or else its `tokenizer.json`.
 *
 * @param path - A tokenizer file or a model directory.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory with neither file), or
 * any error of {@link loadLlama2cTokenizer} / {@link loadHfTokenizer}.
 */
export function loadTokenizer(path: string): Tokenizer {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`loadTokenizer: path must be a non-empty string (got ${String(path)})`);
  }
  const stats = statOrThrow('loadTokenizer', path);
  if (stats.isFile()) {
    return basename(path) === 'tokenizer.json' ? loadHfTokenizer(dirname(path)) : loadLlama2cTokenizer(path);
  }
  if (statOrUndefined(join(path, 'tokenizer.bin'))?.isFile()) return loadLlama2cTokenizer(join(path, 'tokenizer.bin'));
  if (statOrUndefined(join(path, 'tokenizer.json'))?.isFile()) return loadHfTokenizer(path);
  throw new LoaderError(
    'VPTQ_LOADER_UNKNOWN_FORMAT',
    `loadTokenizer: ${path} holds neither tokenizer.bin (llama2.c) nor tokenizer.json (Hugging Face)`,
    { path },
  );
}
