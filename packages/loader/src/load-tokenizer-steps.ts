import { closeFile, openFileSteps } from './file-range';
import { createLlama2cTokenizer } from './llama2c-tokenizer';
import { loadHfTokenizerSteps } from './load-hf-tokenizer-steps';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { Tokenizer } from './model-types';
import { readLlama2cVocabSteps, readOpenedLlama2cVocabSteps } from './parse-llama2c-vocab';

/**
 * Loads a tokenizer whatever its format. An `entry` named `tokenizer.json` loads its directory as a Hugging Face
 * tokenizer; any other `entry` is read as a llama2.c tokenizer `.bin`. A directory loads its `tokenizer.bin`
 * (llama2.c, preferred: `convertLlama2cToHf` leaves one there when tokenizer.json is not provably identical) or
 * else its `tokenizer.json`.
 *
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory with neither file), or any
 * error of the llama2.c or Hugging Face tokenizer reader.
 */
export function* loadTokenizerSteps(fn: string, files: ModelFiles): Steps<Tokenizer> {
  const entry = files.entry;
  if (entry !== undefined) {
    if (baseName(entry) === 'tokenizer.json') return yield* loadHfTokenizerSteps('loadHfTokenizer', directoryOf(files, entry));
    return createLlama2cTokenizer(yield* readLlama2cVocabSteps('loadLlama2cTokenizer', files, entry, undefined));
  }
  const bin = yield* openFileSteps(fn, files, 'tokenizer.bin');
  if (bin !== undefined) return createLlama2cTokenizer(yield* readOpenedLlama2cVocabSteps('loadLlama2cTokenizer', bin, undefined));
  const json = yield* openFileSteps(fn, files, 'tokenizer.json');
  if (json !== undefined) {
    closeFile(json);
    return yield* loadHfTokenizerSteps('loadHfTokenizer', files);
  }
  throw new LoaderError(
    'VPTQ_LOADER_UNKNOWN_FORMAT',
    `${fn}: ${files.path} holds neither tokenizer.bin (llama2.c) nor tokenizer.json (Hugging Face)`,
    { path: files.path },
  );
}

/** The last `/`-separated component of a file name. */
function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** The directory that holds `entry`, as files of their own. */
function directoryOf(files: ModelFiles, entry: string): ModelFiles {
  const prefix = entry.slice(0, entry.lastIndexOf('/') + 1);
  const entryPath = files.pathOf(entry);
  const path = entryPath.slice(0, entryPath.length - baseName(entry).length).replace(/[/\\]$/, '') || '.';
  return {
    path,
    pathOf: (name) => files.pathOf(prefix + name),
    open: (name) => files.open(prefix + name),
  };
}
