/**
 * Element types a safetensors file may declare, as spelled in its header. The two 8-bit float types are
 * accepted when parsing (so files that contain them can still be read), but nothing here decodes them.
 */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

// In the reference's `Dtype` enum order (increasing alignment); the writer sorts by it, see encodeSafetensors.
const dtypeSizes: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

const dtypeRanks: ReadonlyMap<string, number> = new Map(Object.keys(dtypeSizes).map((dtype, rank) => [dtype, rank]));

/** Whether `value` is one of the {@link SafetensorsDtype} spellings (case-sensitive). */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && dtypeRanks.has(value);
}

/**
 * Bytes per element of a safetensors dtype (1, 2, 4 or 8).
 *
 * @throws {RangeError} if `dtype` is not a known dtype.
 */
export function safetensorsDtypeByteSize(dtype: SafetensorsDtype): number {
  if (!isSafetensorsDtype(dtype)) {
    throw new RangeError(`safetensorsDtypeByteSize: dtype must be a safetensors dtype (got ${String(dtype)})`);
  }
  return dtypeSizes[dtype];
}

/** Position in the reference enum, which orders dtypes by increasing alignment. */
export function safetensorsDtypeRank(dtype: SafetensorsDtype): number {
  return dtypeRanks.get(dtype) as number;
}
