import { runAsync } from './loader-steps';
import { loadTokenizerSteps } from './load-tokenizer-steps';
import type { ModelFiles } from './model-files';
import type { Tokenizer } from './model-types';
import { checkModelFiles } from './open-model-files';

/**
 * Loads a tokenizer from any {@link ModelFiles} (as `loadTokenizer` of `@vptq/loader/node` does for paths): an
 * `entry` named `tokenizer.json` as a Hugging Face tokenizer (with `tokenizer_config.json` and `config.json`
 * beside it), any other `entry` as a llama2.c tokenizer `.bin`, and a model directory by its `tokenizer.bin`
 * (llama2.c, preferred) or else its `tokenizer.json`. The files are read whole.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizerFiles(urlModelFiles('https://example.com/models/stories260K-vptq/'));
 * tokenizer.encode('Once upon a time', { bos: true });
 * ```
 * @throws {TypeError} if `files` is not a ModelFiles.
 * @throws {LoaderError} (as a rejection) VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory with
 * neither file), VPTQ_LOADER_BAD_TOKENIZER, VPTQ_LOADER_IO, naming the file.
 */
export async function loadTokenizerFiles(files: ModelFiles): Promise<Tokenizer> {
  checkModelFiles('loadTokenizerFiles', files);
  return runAsync(loadTokenizerSteps('loadTokenizerFiles', files));
}
