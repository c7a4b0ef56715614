import { createLlama2cTokenizer } from './llama2c-tokenizer';
import type { Tokenizer } from './model-types';
import { readLlama2cVocab } from './read-llama2c-vocab';

/** Options of {@link loadLlama2cTokenizer}. */
export interface LoadLlama2cTokenizerOptions {
  /**
   * Number of pieces to read (the model header's vocab_size, as llama2.c `run.c` does). When given, a file
   * with more or fewer pieces is an error. Default: every piece up to the end of the file.
   */
  readonly vocabSize?: number;
}

/**
 * Loads a llama2.c tokenizer `.bin` (int32 max_token_length, then per id: f32 score, int32 len, `len` UTF-8
 * bytes) and encodes exactly as llama2.c `run.c` `encode` does: a dummy-prefix space before non-empty text,
 * one lookup per Unicode code point, byte fallback to the `<0xNN>` pieces when the vocabulary has all 256 of
 * them (otherwise an unknown character becomes id 0, `<unk>`), then repeated merging of the adjacent pair whose
 * concatenation is the highest-scoring piece (leftmost on ties). Merging runs in O(n log n) with a heap.
 *
 * Decoding follows `run.c` `decode`: the leading space of the piece after BOS is dropped and `<0xNN>` pieces are
 * raw bytes; `decode(ids)` joins the bytes of all tokens before UTF-8 decoding, so a character split over several
 * byte tokens comes out whole. BOS (1) and EOS (2) print nothing. `decodeToken` decodes one token's bytes alone:
 * a lone byte of a multi-byte character becomes U+FFFD there.
 *
 * @param path - The tokenizer `.bin` file.
 * @returns A Tokenizer with `bosId` 1 and `eosId` 2; token ids are numbers in `[0, vocabSize)`.
 * @throws {RangeError} when `options.vocabSize` is not an integer ≥ 3.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_TRUNCATED, VPTQ_LOADER_SIZE_MISMATCH,
 * VPTQ_LOADER_NOT_FINITE (a score) or VPTQ_LOADER_BAD_TOKENIZER (bad max_token_length, piece length, invalid
 * UTF-8), naming the file and the piece.
 */
export function loadLlama2cTokenizer(path: string, options: LoadLlama2cTokenizerOptions = {}): Tokenizer {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`loadLlama2cTokenizer: path must be a non-empty string (got ${String(path)})`);
  }
  const { vocabSize } = options;
  if (vocabSize !== undefined && (!Number.isInteger(vocabSize) || vocabSize < 3)) {
    throw new RangeError(`loadLlama2cTokenizer: vocabSize must be an integer ≥ 3 (got ${vocabSize})`);
  }
  return createLlama2cTokenizer(readLlama2cVocab('loadLlama2cTokenizer', path, vocabSize));
}
