import { runSync } from './loader-steps';
import { nodeFileFiles } from './node-model-files';
import { readLlama2cVocabSteps } from './parse-llama2c-vocab';
import type { Llama2cVocab } from './parse-llama2c-vocab';

/**
 * Reads a llama2.c tokenizer file from disk: int32 max_token_length, then per id f32 score, int32 len, `len`
 * UTF-8 bytes. `vocabSize` (the model header's) fixes the number of entries; without it, entries are read to the end.
 */
export function readLlama2cVocab(fn: string, path: string, vocabSize: number | undefined): Llama2cVocab {
  const files = nodeFileFiles(path);
  return runSync(fn, readLlama2cVocabSteps(fn, files, files.entry as string, vocabSize));
}
