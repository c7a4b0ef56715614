import { loadHfTokenizerSteps } from './load-hf-tokenizer-steps';
import { runSync } from './loader-steps';
import type { Tokenizer } from './model-types';
import { nodeDirectoryFiles } from './node-model-files';

/**
 * Loads a Hugging Face tokenizer directory through `@huggingface/tokenizers`: `tokenizer.json` (required),
 * `tokenizer_config.json` and `config.json` (optional, for BOS/EOS). Encoding adds no special tokens of its
 * own; `encode(text, { bos, eos })` adds BOS/EOS explicitly. Decoding prints nothing for BOS/EOS and applies
 * the tokenizer's decoder (SentencePiece-style decoders drop the leading space of the first token).
 * `decodeToken(previous, token)` returns the text `token` adds after `previous` (pass -1 at the start).
 *
 * BOS falls back to EOS when the tokenizer has none (Qwen2), as lm-evaluation-harness does.
 *
 * @param dir - A directory holding tokenizer.json.
 * @returns A Tokenizer whose ids are numbers in `[0, vocabSize)`, added tokens included.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND (no tokenizer.json), VPTQ_LOADER_BAD_TOKENIZER (bad JSON,
 * unsupported component, unknown BOS/EOS, no EOS), naming the file.
 */
export function loadHfTokenizer(dir: string): Tokenizer {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new TypeError(`loadHfTokenizer: dir must be a non-empty string (got ${String(dir)})`);
  }
  return runSync('loadHfTokenizer', loadHfTokenizerSteps('loadHfTokenizer', nodeDirectoryFiles(dir)));
}
