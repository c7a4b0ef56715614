/** Stable codes of {@link PackFormatError}; callers branch on `error.code`. */
export type PackFormatErrorCode =
  /** The safetensors header is malformed: length, UTF-8, JSON or `__metadata__`. */
  | 'VPTQ_PACK_SAFETENSORS_HEADER'
  /** A safetensors tensor entry is malformed: dtype, shape, offsets, overlap or gap. */
  | 'VPTQ_PACK_SAFETENSORS_TENSOR'
  /** The byte source is shorter than the header says (for example a truncated download). */
  | 'VPTQ_PACK_SAFETENSORS_TRUNCATED'
  /** A tensor has a dtype this operation cannot decode. */
  | 'VPTQ_PACK_UNSUPPORTED_DTYPE'
  /** A `quantization_config` or layer config is missing, malformed or inconsistent. */
  | 'VPTQ_PACK_CONFIG'
  /** A tensor the layer config requires is absent. */
  | 'VPTQ_PACK_MISSING_TENSOR'
  /** A tensor's dtype or shape disagrees with the layer config. */
  | 'VPTQ_PACK_TENSOR_MISMATCH'
  /** A stored index or permutation entry points outside its codebook or column range. */
  | 'VPTQ_PACK_INDEX_RANGE';

/** Structured fields of a {@link PackFormatError}, all optional. */
export interface PackFormatErrorOptions {
  /** The file or source being read, e.g. `model.safetensors`. */
  readonly label?: string;
  /** The tensor or config entry involved, e.g. `model.layers.0.mlp.up_proj.indices`. */
  readonly tensor?: string;
  /** Absolute byte offset in the source where the problem was found. */
  readonly byteOffset?: number;
  /** The underlying error, e.g. a `SyntaxError` from `JSON.parse`. */
  readonly cause?: unknown;
}

/**
 * A packed-format failure a caller may handle: a malformed or truncated file, a config that
 * contradicts its tensors. Bad arguments throw `RangeError`/`TypeError` instead.
 */
export class PackFormatError extends Error {
  override readonly name = 'PackFormatError';
  readonly code: PackFormatErrorCode;
  readonly label: string | undefined;
  readonly tensor: string | undefined;
  readonly byteOffset: number | undefined;

  constructor(code: PackFormatErrorCode, message: string, options: PackFormatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.label = options.label;
    this.tensor = options.tensor;
    this.byteOffset = options.byteOffset;
  }
}
