/**
 * Random access to the bytes of a file or buffer, so a safetensors file can be read lazily one tensor at
 * a time. In Node a loader wraps `fs.readSync`; in a browser, a fetched `ArrayBuffer`.
 */
export interface ByteSource {
  /** Total length of the source in bytes. */
  readonly byteLength: number;
  /**
   * Returns `byteLength` bytes starting at `byteOffset`. A result shorter than asked for is treated as a
   * truncated source by the readers in this package.
   */
  read(byteOffset: number, byteLength: number): Uint8Array;
}

/**
 * Wraps bytes already in memory as a {@link ByteSource}. `read` returns views, not copies.
 *
 * @param bytes - the whole file.
 * @throws {TypeError} if `bytes` is not a Uint8Array.
 */
export function createByteSource(bytes: Uint8Array): ByteSource {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`createByteSource: bytes must be a Uint8Array (got ${describe(bytes)})`);
  }
  return {
    byteLength: bytes.byteLength,
    read(byteOffset: number, byteLength: number): Uint8Array {
      if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || !Number.isSafeInteger(byteLength) || byteLength < 0) {
        throw new RangeError(
          `ByteSource.read: byteOffset and byteLength must be non-negative integers (got ${byteOffset}, ${byteLength})`,
        );
      }
      const start = Math.min(byteOffset, bytes.byteLength);
      const end = Math.min(byteOffset + byteLength, bytes.byteLength);
      return bytes.subarray(start, end);
    },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
