import type { ByteSource } from './byte-source';
import { PackFormatError } from './pack-format-error';
import { isSafetensorsDtype, safetensorsDtypeByteSize, type SafetensorsDtype } from './safetensors-dtype';
import { decodeUtf8Strict } from './utf8';

/** The largest header the reference implementation accepts (100 MB). */
export const maxSafetensorsHeaderByteLength = 100_000_000;

/** One tensor of a safetensors file, located in the file. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Dimensions, outermost first; `[]` is a scalar of one element. */
  readonly shape: readonly number[];
  /** Absolute offset of the first byte in the file (`dataOffset` + the header's `data_offsets[0]`). */
  readonly byteOffset: number;
  /** product(shape) · dtype size. */
  readonly byteLength: number;
}

/** The parsed and validated header of a safetensors file. */
export interface SafetensorsHeader {
  /** Absolute offset of the data region: 8 + the JSON header's length. */
  readonly dataOffset: number;
  /** The `__metadata__` string map, `{}` when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in file order (ascending `byteOffset`, then name). */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** The same tensors by name. */
  readonly byName: ReadonlyMap<string, SafetensorsTensorInfo>;
}

/**
 * Reads and validates the header of a safetensors file: a little-endian u64 length N, N bytes of UTF-8
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the
 * data region. Only the header bytes are read. The rules are the reference implementation's
 * (huggingface/safetensors): 2 ≤ N ≤ 100 MB and N ≤ file size − 8, a JSON object starting with `{`, known
 * dtypes, shapes of non-negative integers, `end − begin = product(shape) · dtype size`, and tensors that,
 * sorted by offset, tile the data region exactly from 0 to the end of the file (no gap, no overlap).
 * Unknown keys inside a tensor entry are ignored, as the reference does.
 *
 * @param source - the file's bytes, read synchronously (`@vptq/loader` fetches the header of a remote file first).
 * @param label - a name for the source used in error messages, usually the file name.
 * @returns the header, with absolute byte offsets.
 * @throws {PackFormatError} `VPTQ_PACK_SAFETENSORS_HEADER`, `VPTQ_PACK_SAFETENSORS_TENSOR` or
 * `VPTQ_PACK_SAFETENSORS_TRUNCATED`, naming the file and the tensor.
 */
export function parseSafetensorsHeader(source: ByteSource<Uint8Array>, label: string): SafetensorsHeader {
  const fileLength = source.byteLength;
  if (!Number.isSafeInteger(fileLength) || fileLength < 0) {
    throw new TypeError(`parseSafetensorsHeader: source.byteLength must be a non-negative integer (got ${fileLength})`);
  }
  if (fileLength < 8) {
    throw new PackFormatError(
      'VPTQ_PACK_SAFETENSORS_TRUNCATED',
      `${label}: file of ${fileLength} bytes is too short for a safetensors header length (8 bytes)`,
      { label, byteOffset: 0 },
    );
  }
  const lengthBytes = readExactly(source, 0, 8, label);
  const lengthView = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8);
  const low = lengthView.getUint32(0, true);
  const high = lengthView.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (high !== 0 || headerLength > maxSafetensorsHeaderByteLength) {
    throw headerError(label, `header length ${headerLength} is above the 100 MB limit`, 0);
  }
  if (headerLength < 2) {
    throw headerError(label, `header length ${headerLength} is too small for a JSON object`, 0);
  }
  if (headerLength > fileLength - 8) {
    throw new PackFormatError(
      'VPTQ_PACK_SAFETENSORS_TRUNCATED',
      `${label}: header length ${headerLength} runs past the end of the ${fileLength}-byte file`,
      { label, byteOffset: 0 },
    );
  }

  const headerBytes = readExactly(source, 8, headerLength, label);
  let text: string;
  try {
    text = decodeUtf8Strict(headerBytes);
  } catch (cause) {
    throw headerError(label, 'header is not valid UTF-8', 8, cause);
  }
  if (!text.startsWith('{')) throw headerError(label, "header must start with '{'", 8);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw headerError(label, `header is not valid JSON (${(cause as Error).message})`, 8, cause);
  }
  if (!isPlainObject(json)) throw headerError(label, 'header must be a JSON object', 8);

  const dataOffset = 8 + headerLength;
  const dataLength = fileLength - dataOffset;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value, label);
      continue;
    }
    entries.push(parseEntry(name, value, label));
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || compareCodePoints(a.name, b.name));
  let expectedBegin = 0;
  const tensors: SafetensorsTensorInfo[] = [];
  const byName = new Map<string, SafetensorsTensorInfo>();
  for (const entry of entries) {
    if (entry.begin !== expectedBegin) {
      const problem = entry.begin < expectedBegin ? 'overlaps the previous tensor' : 'leaves a gap after the previous tensor';
      throw tensorError(
        label,
        entry.name,
        `data_offsets [${entry.begin}, ${entry.end}] ${problem}; expected it to start at ${expectedBegin}`,
        dataOffset + entry.begin,
      );
    }
    expectedBegin = entry.end;
    if (entry.end > dataLength) {
      throw new PackFormatError(
        'VPTQ_PACK_SAFETENSORS_TRUNCATED',
        `${label}: tensor "${entry.name}" data_offsets [${entry.begin}, ${entry.end}] run past the end of the ${dataLength}-byte data region`,
        { label, tensor: entry.name, byteOffset: dataOffset + entry.begin },
      );
    }
    const info: SafetensorsTensorInfo = {
      name: entry.name,
      dtype: entry.dtype,
      shape: entry.shape,
      byteOffset: dataOffset + entry.begin,
      byteLength: entry.end - entry.begin,
    };
    tensors.push(info);
    byName.set(entry.name, info);
  }
  if (expectedBegin !== dataLength) {
    throw headerError(
      label,
      `tensors cover ${expectedBegin} bytes but the data region holds ${dataLength}; the last tensor must end at the end of the file`,
      dataOffset + expectedBegin,
    );
  }
  return { dataOffset, metadata, tensors, byName };
}

function parseMetadata(value: unknown, label: string): Record<string, string> {
  // The reference's `Option<HashMap<String, String>>` accepts null as "no metadata".
  if (value === null) return {};
  if (!isPlainObject(value)) throw headerError(label, '__metadata__ must be an object of strings', 8);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw headerError(label, `__metadata__["${key}"] must be a string (got ${describeJson(item)})`, 8);
    }
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(
  name: string,
  value: unknown,
  label: string,
): { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  if (!isPlainObject(value)) {
    throw tensorError(label, name, `entry must be an object with dtype, shape and data_offsets (got ${describeJson(value)})`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw tensorError(label, name, `unknown dtype ${describeJson(dtype)}; expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL F8_E5M2 F8_E4M3`);
  }
  if (!Array.isArray(shape) || !shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0)) {
    throw tensorError(label, name, `shape must be an array of non-negative integers (got ${describeJson(shape)})`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0)
  ) {
    throw tensorError(label, name, `data_offsets must be two non-negative integers (got ${describeJson(offsets)})`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw tensorError(label, name, `data_offsets [${begin}, ${end}] end before they begin`);
  let elements = 1;
  for (const dimension of shape as number[]) {
    elements *= dimension;
    if (!Number.isSafeInteger(elements)) {
      throw tensorError(label, name, `shape [${shape.join(', ')}] has too many elements`);
    }
  }
  const byteLength = elements * safetensorsDtypeByteSize(dtype);
  if (!Number.isSafeInteger(byteLength) || byteLength !== end - begin) {
    throw tensorError(
      label,
      name,
      `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${byteLength}`,
    );
  }
  return { name, dtype, shape: (shape as number[]).slice(), begin, end };
}

/** Reads exactly `byteLength` bytes or fails as a truncated source. */
export function readExactly(source: ByteSource<Uint8Array>, byteOffset: number, byteLength: number, label: string, tensor?: string): Uint8Array {
  const bytes: unknown = source.read(byteOffset, byteLength);
  if (!(bytes instanceof Uint8Array)) {
    if (typeof (bytes as PromiseLike<unknown> | undefined)?.then === 'function') {
      (bytes as Promise<unknown>).then(undefined, () => undefined);
      throw new TypeError(
        `${label}: ByteSource.read returned a Promise; this reader needs a synchronous source (createByteSource over bytes already read)`,
      );
    }
    throw new TypeError(`ByteSource.read must return a Uint8Array (got ${describeJson(bytes)})`);
  }
  if (bytes.byteLength !== byteLength) {
    throw new PackFormatError(
      'VPTQ_PACK_SAFETENSORS_TRUNCATED',
      `${label}: ${tensor === undefined ? '' : `tensor "${tensor}": `}read of ${byteLength} bytes at offset ${byteOffset} returned ${bytes.byteLength}`,
      { label, tensor, byteOffset },
    );
  }
  return bytes;
}

/** Orders strings by Unicode code point, i.e. by their UTF-8 bytes, like Rust's `str` ordering. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 order disagrees with code point order only between surrogates and U+E000..U+FFFF.
      const xSurrogate = x >= 0xd800 && x <= 0xdfff;
      const ySurrogate = y >= 0xd800 && y <= 0xdfff;
      if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function headerError(label: string, detail: string, byteOffset: number, cause?: unknown): PackFormatError {
  return new PackFormatError('VPTQ_PACK_SAFETENSORS_HEADER', `${label}: ${detail}`, { label, byteOffset, cause });
}

function tensorError(label: string, tensor: string, detail: string, byteOffset?: number): PackFormatError {
  return new PackFormatError('VPTQ_PACK_SAFETENSORS_TENSOR', `${label}: tensor "${tensor}": ${detail}`, {
    label,
    tensor,
    byteOffset,
  });
}
