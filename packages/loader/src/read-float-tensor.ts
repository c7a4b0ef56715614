import { decodeTensorF32 } from '@vptq/pack-format/safetensors';

import { assertFinite, firstNonFiniteHalf, littleEndianHost, readBytes, readF32 } from './file-range';
import { LoaderError } from './loader-error';
import type { LocatedTensor } from './safetensors-files';

/** The stored dtypes {@link readFloatTensor} widens to f32. */
export const floatDtypes: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16']);

/**
 * Reads one F32/F16/BF16 safetensors tensor at its offset and widens it exactly to f32, checking that every
 * value is finite.
 *
 * @returns a new Float32Array of product(shape) values, row-major.
 * @throws {LoaderError} VPTQ_LOADER_UNSUPPORTED_DTYPE, VPTQ_LOADER_TRUNCATED, VPTQ_LOADER_IO or
 * VPTQ_LOADER_NOT_FINITE, naming `fn`, the file and the tensor.
 */
export function readFloatTensor(fn: string, located: LocatedTensor): Float32Array {
  const { info, file } = located;
  if (!floatDtypes.has(info.dtype)) throw unsupportedDtype(fn, file.path, info.name, info.dtype);
  let values: Float32Array;
  if (info.dtype === 'F32') {
    // No second copy of the largest tensors where the source reads into a new buffer.
    values = readF32(fn, file, info.byteOffset, info.byteLength / 4, { tensor: info.name });
  } else {
    const bytes = readBytes(fn, file, info.byteOffset, info.byteLength, { tensor: info.name });
    if (littleEndianHost && bytes.byteOffset % 2 === 0) {
      // The stored halves, not the widened values: half the memory to read.
      assertFiniteHalves(fn, file.path, info.name, new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), info.dtype as 'F16' | 'BF16');
      return decodeTensorF32(bytes, info.dtype, info.name);
    }
    values = decodeTensorF32(bytes, info.dtype, info.name);
  }
  assertFinite(fn, file.path, info.name, values);
  return values;
}

/** {@link assertFinite} on F16 or BF16 bits, naming the bad value as it would widen (NaN, ±Infinity). */
function assertFiniteHalves(fn: string, path: string, tensor: string, bits: Uint16Array, dtype: 'F16' | 'BF16'): void {
  const i = firstNonFiniteHalf(bits, dtype);
  if (i < 0) return;
  const exponent = dtype === 'F16' ? 0x7c00 : 0x7f80;
  const value = (bits[i] & ~exponent & 0x7fff) !== 0 ? Number.NaN : bits[i] & 0x8000 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  throw new LoaderError('VPTQ_LOADER_NOT_FINITE', `${fn}: ${path}: tensor ${tensor} holds ${value} at element ${i}; weights must be finite`, { path, tensor });
}

/** VPTQ_LOADER_UNSUPPORTED_DTYPE for a tensor that should be F32, F16 or BF16. */
export function unsupportedDtype(fn: string, path: string, tensor: string, dtype: string): LoaderError {
  return new LoaderError('VPTQ_LOADER_UNSUPPORTED_DTYPE', `${fn}: ${path}: tensor ${tensor} has dtype ${dtype}; expected F32, F16 or BF16`, {
    path,
    tensor,
  });
}
