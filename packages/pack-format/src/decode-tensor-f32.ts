import { f16ArrayToF32 } from './f16-bits';
import { PackFormatError } from './pack-format-error';
import { safetensorsDtypeByteSize, type SafetensorsDtype } from './safetensors-dtype';

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts a tensor's raw little-endian bytes to f32, exactly: F32 is copied, F16 and BF16 are widened
 * (both are subsets of f32).
 *
 * @param bytes - `count · 4` (F32) or `count · 2` (F16, BF16) bytes, any alignment.
 * @param dtype - the tensor's dtype.
 * @param label - the tensor's name, for error messages.
 * @returns `[count]` values in a new Float32Array.
 * @throws {PackFormatError} `VPTQ_PACK_UNSUPPORTED_DTYPE` for any other dtype.
 * @throws {RangeError} if the byte count is not a multiple of the element size.
 */
export function decodeTensorF32(bytes: Uint8Array, dtype: SafetensorsDtype, label: string): Float32Array {
  checkLength('decodeTensorF32', bytes, dtype);
  switch (dtype) {
    case 'F32':
      return new Float32Array(littleEndianCopy(bytes, 4));
    case 'F16':
      return f16ArrayToF32(new Uint16Array(littleEndianCopy(bytes, 2)));
    case 'BF16': {
      const count = bytes.byteLength / 2;
      // Read in place where the bytes are aligned native order; a bfloat16 is the top half of its f32's bits.
      const bits = littleEndian && bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : new Uint16Array(littleEndianCopy(bytes, 2));
      const out = new Float32Array(count);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) outBits[i] = bits[i] << 16;
      return out;
    }
    default:
      throw new PackFormatError(
        'VPTQ_PACK_UNSUPPORTED_DTYPE',
        `${label}: dtype ${dtype} cannot be decoded to f32; expected F32, F16 or BF16`,
        { tensor: label },
      );
  }
}

export function checkLength(fn: string, bytes: Uint8Array, dtype: SafetensorsDtype): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${fn}: bytes must be a Uint8Array`);
  }
  const size = safetensorsDtypeByteSize(dtype);
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`${fn}: byte length must be a multiple of ${size} for ${dtype} (got ${bytes.byteLength})`);
  }
}

/** A fresh, aligned, native-order copy of little-endian elements of `size` bytes. */
export function littleEndianCopy(bytes: Uint8Array, size: number): ArrayBuffer {
  const copy = bytes.slice().buffer;
  if (!littleEndian) {
    const view = new Uint8Array(copy);
    for (let i = 0; i < view.length; i += size) view.subarray(i, i + size).reverse();
  }
  return copy;
}
