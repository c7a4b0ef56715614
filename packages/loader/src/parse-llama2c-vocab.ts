import { closeFile, openFileSteps, readWholeFileSteps } from './file-range';
import type { LoaderFile } from './file-range';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';

/** The raw contents of a llama2.c tokenizer `.bin`. */
export interface Llama2cVocab {
  readonly path: string;
  /** Longest piece in bytes, as declared by the file. */
  readonly maxTokenLength: number;
  /** Piece text per id (UTF-8 decoded; byte-fallback pieces are the literal strings `<0xNN>`). */
  readonly pieces: readonly string[];
  /** Merge score per id (f32). */
  readonly scores: Float32Array;
}

// A llama2.c tokenizer for a 256k vocabulary is a few MB; anything far larger is a wrong file.
const maxTokenizerBytes = 256 * 1024 * 1024;
const maxPieceBytes = 1 << 16;

/**
 * Reads llama2.c tokenizer file `name` of `files` (see {@link parseLlama2cVocab}), closing it afterwards.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND naming `fn` when there is no such file.
 */
export function* readLlama2cVocabSteps(fn: string, files: ModelFiles, name: string, vocabSize: number | undefined): Steps<Llama2cVocab> {
  const file = yield* openFileSteps(fn, files, name);
  if (file === undefined) {
    const path = files.pathOf(name);
    throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: cannot open ${path} (it does not exist)`, { path });
  }
  return yield* readOpenedLlama2cVocabSteps(fn, file, vocabSize);
}

/** Reads an opened llama2.c tokenizer file whole (refusing implausibly large ones), parses it and closes it. */
export function* readOpenedLlama2cVocabSteps(fn: string, file: LoaderFile, vocabSize: number | undefined): Steps<Llama2cVocab> {
  let bytes: Uint8Array;
  try {
    if (file.byteLength > maxTokenizerBytes) {
      throw new LoaderError(
        'VPTQ_LOADER_BAD_TOKENIZER',
        `${fn}: ${file.path} has ${file.byteLength} bytes, implausibly large for a llama2.c tokenizer (limit ${maxTokenizerBytes})`,
        { path: file.path },
      );
    }
    bytes = yield* readWholeFileSteps(fn, file);
  } finally {
    closeFile(file);
  }
  return parseLlama2cVocab(fn, file.path, bytes, vocabSize);
}

/**
 * Parses a llama2.c tokenizer file: int32 max_token_length, then per id f32 score, int32 len, `len` UTF-8 bytes.
 * `vocabSize` (the model header's) fixes the number of entries; without it, entries are read to the end.
 */
export function parseLlama2cVocab(fn: string, path: string, bytes: Uint8Array, vocabSize: number | undefined): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const truncated = (field: string, byteOffset: number, needed: number): LoaderError =>
    new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${path} is truncated: ${field} needs bytes ${byteOffset}..${byteOffset + needed} but the file has ${bytes.length}`,
      { path, field, byteOffset },
    );

  if (bytes.length < 4) throw truncated('max_token_length', 0, 4);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > maxPieceBytes) {
    throw new LoaderError(
      'VPTQ_LOADER_BAD_TOKENIZER',
      `${fn}: ${path}: max_token_length must be between 1 and ${maxPieceBytes} (got ${maxTokenLength})`,
      { path, field: 'max_token_length', byteOffset: 0 },
    );
  }

  const pieces: string[] = [];
  const scoreList: number[] = [];
  let offset = 4;
  while (vocabSize === undefined ? offset < bytes.length : pieces.length < vocabSize) {
    const id = pieces.length;
    if (offset + 8 > bytes.length) {
      throw truncated(`piece ${id} header`, offset, 8);
    }
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    if (!Number.isFinite(score)) {
      throw new LoaderError('VPTQ_LOADER_NOT_FINITE', `${fn}: ${path}: piece ${id} score must be finite (got ${score})`, {
        path,
        field: `piece ${id} score`,
        byteOffset: offset,
      });
    }
    if (length < 1 || length > maxTokenLength) {
      throw new LoaderError(
        'VPTQ_LOADER_BAD_TOKENIZER',
        `${fn}: ${path}: piece ${id} length must be between 1 and max_token_length ${maxTokenLength} (got ${length})`,
        { path, field: `piece ${id} length`, byteOffset: offset + 4 },
      );
    }
    offset += 8;
    if (offset + length > bytes.length) throw truncated(`piece ${id} bytes`, offset, length);
    try {
      pieces.push(utf8.decode(bytes.subarray(offset, offset + length)));
    } catch (error) {
      throw new LoaderError('VPTQ_LOADER_BAD_TOKENIZER', `${fn}: ${path}: piece ${id} is not valid UTF-8`, {
        path,
        field: `piece ${id} bytes`,
        byteOffset: offset,
        cause: error,
      });
    }
    scoreList.push(score);
    offset += length;
  }

  if (offset < bytes.length) {
    throw new LoaderError(
      'VPTQ_LOADER_SIZE_MISMATCH',
      `${fn}: ${path} has ${bytes.length - offset} bytes after piece ${pieces.length - 1}; ` +
        `vocabSize ${vocabSize} does not match this tokenizer`,
      { path, field: 'vocabSize', byteOffset: offset },
    );
  }
  if (pieces.length < 3) {
    throw new LoaderError(
      'VPTQ_LOADER_BAD_TOKENIZER',
      `${fn}: ${path} must hold at least 3 pieces (<unk>, BOS, EOS) (got ${pieces.length})`,
      { path, field: 'vocabSize' },
    );
  }
  return { path, maxTokenLength, pieces, scores: Float32Array.from(scoreList) };
}
