/** Stable codes of {@link CodebookError}; callers branch on `error.code`. */
export type CodebookErrorCode =
  /** The quantized weight or a codebook came out NaN or infinite (for example from a broken Hessian). */
  | 'VPTQ_CODEBOOK_NON_FINITE'
  /** A codebook entry, norm scale or bias is too large for the requested `storageDtype` (F16 tops out at 65504). */
  | 'VPTQ_CODEBOOK_STORAGE_OVERFLOW';

/** A quantization failure a caller may handle (bad arguments throw `RangeError`/`TypeError` instead). */
export class CodebookError extends Error {
  override readonly name = 'CodebookError';
  readonly code: CodebookErrorCode;

  constructor(code: CodebookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
