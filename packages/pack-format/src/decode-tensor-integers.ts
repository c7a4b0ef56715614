import { PackFormatError } from './pack-format-error';
import type { SafetensorsDtype } from './safetensors-dtype';
import { checkLength, littleEndianCopy } from './decode-tensor-f32';

/**
 * Reinterprets 16-bit tensor elements as unsigned bit patterns: I16 and U16 indices (VPTQ stores uint16
 * indices and permutations as I16), and F16/BF16 payloads kept as bits.
 *
 * @param bytes - `count · 2` bytes, any alignment.
 * @param dtype - one of I16, U16, F16, BF16.
 * @param label - the tensor's name, for error messages.
 * @returns `[count]` uint16 values in a new Uint16Array.
 * @throws {PackFormatError} `VPTQ_PACK_UNSUPPORTED_DTYPE` for any other dtype.
 */
export function decodeTensorUint16(bytes: Uint8Array, dtype: SafetensorsDtype, label: string): Uint16Array {
  if (dtype !== 'I16' && dtype !== 'U16' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new PackFormatError(
      'VPTQ_PACK_UNSUPPORTED_DTYPE',
      `${label}: dtype ${dtype} is not a 16-bit type; expected I16, U16, F16 or BF16`,
      { tensor: label },
    );
  }
  checkLength('decodeTensorUint16', bytes, dtype);
  return new Uint16Array(littleEndianCopy(bytes, 2));
}

/**
 * Reinterprets 32-bit integer tensor elements as unsigned: VPTQ's packed `indices` are stored as I32 words.
 *
 * @param bytes - `count · 4` bytes, any alignment.
 * @param dtype - I32 or U32.
 * @param label - the tensor's name, for error messages.
 * @returns `[count]` uint32 words in a new Uint32Array.
 * @throws {PackFormatError} `VPTQ_PACK_UNSUPPORTED_DTYPE` for any other dtype.
 */
export function decodeTensorUint32(bytes: Uint8Array, dtype: SafetensorsDtype, label: string): Uint32Array {
  if (dtype !== 'I32' && dtype !== 'U32') {
    throw new PackFormatError('VPTQ_PACK_UNSUPPORTED_DTYPE', `${label}: dtype ${dtype} is not I32 or U32`, {
      tensor: label,
    });
  }
  checkLength('decodeTensorUint32', bytes, dtype);
  return new Uint32Array(littleEndianCopy(bytes, 4));
}

/**
 * Converts I64/U64/I32/U32/I16/U16 integer elements to JS numbers, e.g. a legacy I64 `perm`.
 *
 * @param bytes - `count · size` bytes, any alignment.
 * @param dtype - an integer dtype.
 * @param label - the tensor's name, for error messages.
 * @returns `[count]` values in a new Float64Array (exact for |value| ≤ 2^53).
 * @throws {PackFormatError} `VPTQ_PACK_UNSUPPORTED_DTYPE` for non-integer dtypes, `VPTQ_PACK_INDEX_RANGE`
 * for 64-bit values beyond ±2^53.
 */
export function decodeTensorIntegers(bytes: Uint8Array, dtype: SafetensorsDtype, label: string): Float64Array {
  const size = dtype === 'I64' || dtype === 'U64' ? 8 : dtype === 'I32' || dtype === 'U32' ? 4 : dtype === 'I16' || dtype === 'U16' ? 2 : dtype === 'I8' || dtype === 'U8' ? 1 : 0;
  if (size === 0) {
    throw new PackFormatError('VPTQ_PACK_UNSUPPORTED_DTYPE', `${label}: dtype ${dtype} is not an integer type`, {
      tensor: label,
    });
  }
  checkLength('decodeTensorIntegers', bytes, dtype);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.byteLength / size;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    let value: number;
    switch (dtype) {
      case 'I64':
      case 'U64': {
        const big = dtype === 'I64' ? view.getBigInt64(at, true) : view.getBigUint64(at, true);
        value = Number(big);
        if (!Number.isSafeInteger(value)) {
          throw new PackFormatError(
            'VPTQ_PACK_INDEX_RANGE',
            `${label}: element ${i} (${big}) is beyond the exactly representable range ±2^53`,
            { tensor: label },
          );
        }
        break;
      }
      case 'I32':
        value = view.getInt32(at, true);
        break;
      case 'U32':
        value = view.getUint32(at, true);
        break;
      case 'I16':
        value = view.getInt16(at, true);
        break;
      case 'U16':
        value = view.getUint16(at, true);
        break;
      case 'I8':
        value = view.getInt8(at);
        break;
      default:
        value = view.getUint8(at);
    }
    out[i] = value;
  }
  return out;
}
