import { loadTokenizerSteps } from './load-tokenizer-steps';
import { runSync } from './loader-steps';
import type { Tokenizer } from './model-types';
import { nodeFilesAt } from './node-model-files';

/**
 * Loads a tokenizer whatever its format. A file named `tokenizer.json` loads its directory as a Hugging Face
 * tokenizer; any other file is read as a llama2.c tokenizer `.bin`. A directory loads its `tokenizer.bin`
 * (llama2.c, preferred: `convertLlama2cToHf` leaves one there when tokenizer.json is not provably
 * identical) or else its `tokenizer.json`.
 *
 * `loadTokenizerFiles` does the same for a URL, picked files or bytes.
 *
 * @param path - A tokenizer file or a model directory.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory with neither file), or
 * any error of `loadLlama2cTokenizer` / `loadHfTokenizer`.
 */
export function loadTokenizer(path: string): Tokenizer {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`loadTokenizer: path must be a non-empty string (got ${String(path)})`);
  }
  return runSync('loadTokenizer', loadTokenizerSteps('loadTokenizer', nodeFilesAt('loadTokenizer', path)));
}
