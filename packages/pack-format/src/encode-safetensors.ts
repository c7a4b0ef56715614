import { compareCodePoints, maxSafetensorsHeaderByteLength } from './parse-safetensors-header';
import { encodeUtf8 } from './utf8';
import {
  isSafetensorsDtype,
  safetensorsDtypeByteSize,
  safetensorsDtypeRank,
  type SafetensorsDtype,
} from './safetensors-dtype';

/** One tensor to write with {@link encodeSafetensors}. */
export interface SafetensorsTensorInput {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /**
   * Little-endian element bytes, product(shape) · dtype size of them. A typed array is taken as its raw
   * bytes (so a `Uint16Array` of f16 bits serves an F16 tensor) on little-endian hosts, i.e. all of them
   * that run JS in practice.
   */
  readonly data: Uint8Array | ArrayBufferView;
}

/**
 * Serializes tensors to the safetensors format as chunks to write in order: the first holds the 8-byte
 * header length and the JSON header, padded with spaces to a multiple of 8 bytes; then one chunk per
 * tensor (views of the inputs, not copies).
 *
 * The output is deterministic and byte-identical to the reference writer (huggingface/safetensors
 * `serialize`): tensors are laid out by **descending dtype alignment, then by name** (Unicode code point
 * order), not in the given order, so that with the 8-byte header padding every tensor starts at a
 * multiple of its element size and can be viewed in place as a typed array. `__metadata__` comes first in
 * the header, with its keys sorted (the reference leaves them in hash order).
 *
 * @param tensors - the tensors; names must be unique and not `__metadata__`.
 * @param metadata - optional `__metadata__` strings, e.g. `{ format: 'pt' }`.
 * @returns `[header, ...tensorBytes]`; their concatenation is the file.
 * @throws {TypeError} for a bad dtype, name, data or metadata value.
 * @throws {RangeError} for a bad shape, a data length that disagrees with shape and dtype, or a header
 * above 100 MB.
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  if (!Array.isArray(tensors)) throw new TypeError('encodeSafetensors: tensors must be an array');
  const seen = new Set<string>();
  const prepared = tensors.map((tensor, position) => {
    const { name, dtype, shape, data } = tensor;
    if (typeof name !== 'string') {
      throw new TypeError(`encodeSafetensors: tensors[${position}].name must be a string (got ${typeof name})`);
    }
    if (name === '__metadata__') throw new RangeError('encodeSafetensors: tensor name must not be "__metadata__"');
    if (seen.has(name)) throw new RangeError(`encodeSafetensors: tensor names must be unique (got "${name}" twice)`);
    seen.add(name);
    if (!isSafetensorsDtype(dtype)) {
      throw new TypeError(`encodeSafetensors: "${name}" dtype must be a safetensors dtype (got ${String(dtype)})`);
    }
    if (!Array.isArray(shape) || !shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0)) {
      throw new RangeError(`encodeSafetensors: "${name}" shape must be non-negative integers (got ${String(shape)})`);
    }
    if (!ArrayBuffer.isView(data)) {
      throw new TypeError(`encodeSafetensors: "${name}" data must be a Uint8Array or another ArrayBufferView`);
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = shape.reduce((product, dimension) => product * dimension, 1) * safetensorsDtypeByteSize(dtype);
    if (bytes.byteLength !== expected) {
      throw new RangeError(
        `encodeSafetensors: "${name}" data must hold ${expected} bytes for ${dtype} [${shape.join(', ')}] (got ${bytes.byteLength})`,
      );
    }
    return { name, dtype, shape: shape.slice(), bytes };
  });

  prepared.sort(
    (a, b) => safetensorsDtypeRank(b.dtype) - safetensorsDtypeRank(a.dtype) || compareCodePoints(a.name, b.name),
  );

  const entries: [string, unknown][] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) {
      throw new TypeError('encodeSafetensors: metadata must be an object of strings');
    }
    const keys = Object.keys(metadata).sort(compareCodePoints);
    for (const key of keys) {
      if (typeof metadata[key] !== 'string') {
        throw new TypeError(`encodeSafetensors: metadata["${key}"] must be a string (got ${typeof metadata[key]})`);
      }
    }
    entries.push(['__metadata__', Object.fromEntries(keys.map((key) => [key, metadata[key]]))]);
  }
  let offset = 0;
  for (const tensor of prepared) {
    entries.push([tensor.name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.byteLength] }]);
    offset += tensor.bytes.byteLength;
  }
  // Object key order follows insertion except for integer-like names, which JS would move first, so the
  // JSON is assembled entry by entry.
  const json = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
  const jsonBytes = encodeUtf8(json);
  const headerLength = Math.ceil(jsonBytes.byteLength / 8) * 8;
  if (headerLength > maxSafetensorsHeaderByteLength) {
    throw new RangeError(`encodeSafetensors: header must be at most 100 MB (got ${headerLength} bytes)`);
  }
  const first = new Uint8Array(8 + headerLength).fill(0x20, 8 + jsonBytes.byteLength);
  const view = new DataView(first.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  first.set(jsonBytes, 8);
  return [first, ...prepared.map((tensor) => tensor.bytes)];
}
