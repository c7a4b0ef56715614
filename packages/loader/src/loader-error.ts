/**
 * Stable identifiers of the failures a loader caller may handle. Branch on `error.code`, never on the message.
 *
 * - `VPTQ_LOADER_NOT_FOUND`: a file, directory or shard does not exist.
 * - `VPTQ_LOADER_IO`: the operating system or the web server refused a read or write.
 * - `VPTQ_LOADER_TRUNCATED`: the file ends before the data its header promises.
 * - `VPTQ_LOADER_SIZE_MISMATCH`: the file is longer than its header accounts for.
 * - `VPTQ_LOADER_BAD_HEADER`: a binary header field is non-positive, implausible or inconsistent.
 * - `VPTQ_LOADER_BAD_CONFIG`: a config.json field is missing, of the wrong type or inconsistent.
 * - `VPTQ_LOADER_BAD_TOKENIZER`: a tokenizer file is malformed (bad lengths, invalid UTF-8, bad JSON).
 * - `VPTQ_LOADER_NOT_FINITE`: a weight or score is NaN or ±Infinity.
 * - `VPTQ_LOADER_UNKNOWN_TENSOR`: a tensor name the model does not have, or a required tensor is absent.
 * - `VPTQ_LOADER_UNSUPPORTED_DTYPE`: a tensor dtype the loader cannot widen to f32.
 * - `VPTQ_LOADER_SHAPE_MISMATCH`: a tensor's shape disagrees with the config.
 * - `VPTQ_LOADER_BAD_SAFETENSORS`: a safetensors header or shard index is malformed.
 * - `VPTQ_LOADER_UNKNOWN_FORMAT`: a path is neither a llama2.c file nor a recognised model directory.
 * - `VPTQ_LOADER_OUTPUT_EXISTS`: a converter's output directory exists and is not empty.
 * - `VPTQ_LOADER_CLOSED`: a tensor was read after `close()`.
 * - `VPTQ_LOADER_INDEX_RANGE`: a VPTQ `perm` is not a permutation, or an outlier index is not below its codebook size.
 * - `VPTQ_LOADER_NOT_PREFETCHED`: a tensor of a model read through `fetch` or a `Blob` was read before
 *   `ModelSource.prefetch` fetched its bytes.
 */
export type LoaderErrorCode =
  | 'VPTQ_LOADER_NOT_FOUND'
  | 'VPTQ_LOADER_IO'
  | 'VPTQ_LOADER_TRUNCATED'
  | 'VPTQ_LOADER_SIZE_MISMATCH'
  | 'VPTQ_LOADER_BAD_HEADER'
  | 'VPTQ_LOADER_BAD_CONFIG'
  | 'VPTQ_LOADER_BAD_TOKENIZER'
  | 'VPTQ_LOADER_NOT_FINITE'
  | 'VPTQ_LOADER_UNKNOWN_TENSOR'
  | 'VPTQ_LOADER_UNSUPPORTED_DTYPE'
  | 'VPTQ_LOADER_SHAPE_MISMATCH'
  | 'VPTQ_LOADER_BAD_SAFETENSORS'
  | 'VPTQ_LOADER_UNKNOWN_FORMAT'
  | 'VPTQ_LOADER_OUTPUT_EXISTS'
  | 'VPTQ_LOADER_CLOSED'
  | 'VPTQ_LOADER_INDEX_RANGE'
  | 'VPTQ_LOADER_NOT_PREFETCHED';

/** Structured context of a {@link LoaderError}. */
export interface LoaderErrorDetails {
  /** The file, directory or URL at fault. */
  readonly path: string;
  /** The tensor at fault (Hugging Face name, or the file's own name where it has no HF twin). */
  readonly tensor?: string;
  /**
   * The header, config or tokenizer field at fault (`'n_heads'`, `'hidden_size'`, `'piece 37 length'`,
   * `'quantization_config.shared_layer_config["q_proj"].num_centroids'`).
   */
  readonly field?: string;
  /** Byte offset in `path` where the problem was found, when it is about a position in a binary file. */
  readonly byteOffset?: number;
  /** The underlying error (an `fs` or `fetch` error, a JSON `SyntaxError`, a pack-format error). */
  readonly cause?: unknown;
}

/**
 * A model or tokenizer file that cannot be read as promised: missing, truncated, malformed or holding
 * non-finite weights. The message names the file and the tensor or field, and says what was expected.
 */
export class LoaderError extends Error {
  override readonly name = 'LoaderError';
  readonly code: LoaderErrorCode;
  readonly path: string;
  readonly tensor: string | undefined;
  readonly field: string | undefined;
  readonly byteOffset: number | undefined;

  constructor(code: LoaderErrorCode, message: string, details: LoaderErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
    this.tensor = details.tensor;
    this.field = details.field;
    this.byteOffset = details.byteOffset;
  }
}
