import type { ByteSource } from './byte-source';
import { readExactly, type SafetensorsTensorInfo } from './parse-safetensors-header';

/**
 * Reads one tensor's raw little-endian bytes from the source, as located by `parseSafetensorsHeader`.
 *
 * @param source - the same source the header was parsed from.
 * @param info - the tensor's entry in the header.
 * @param label - the source's name for error messages; defaults to `safetensors`.
 * @returns `info.byteLength` bytes (a view or a copy, whatever the source returns).
 * @throws {PackFormatError} `VPTQ_PACK_SAFETENSORS_TRUNCATED` if the source returns fewer bytes.
 */
export function readSafetensorsTensor(source: ByteSource<Uint8Array>, info: SafetensorsTensorInfo, label = 'safetensors'): Uint8Array {
  return readExactly(source, info.byteOffset, info.byteLength, label, info.name);
}
