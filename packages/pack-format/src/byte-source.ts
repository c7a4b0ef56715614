/**
 * Random access to the bytes of a file or buffer, so a safetensors file can be read lazily one tensor at a time.
 * `Bytes` says how `read` answers: `Uint8Array` for a source whose bytes are at hand (in memory, a local file
 * read with `fs.readSync`), `Promise<Uint8Array>` for one that must wait for them (`fetch` with HTTP Range
 * requests, `Blob.slice().arrayBuffer()`). A source answers every read the same way. `ByteSource` alone is
 * either kind; this package's readers (`parseSafetensorsHeader`, `readSafetensorsTensor`,
 * `createStoredTensorLookup`) take a synchronous `ByteSource<Uint8Array>`, and `@vptq/loader` reads the other
 * kind by fetching the bytes it needs first.
 */
export interface ByteSource<Bytes extends Uint8Array | Promise<Uint8Array> = Uint8Array | Promise<Uint8Array>> {
  /** Total length of the source in bytes. */
  readonly byteLength: number;
  /**
   * Returns `byteLength` bytes starting at `byteOffset` (a view or a copy: treat them as read-only). A result
   * shorter than asked for is treated as a truncated source by the readers in this package.
   */
  read(byteOffset: number, byteLength: number): Bytes;
  /** Releases what the source holds (a file descriptor, cached bytes); later reads may fail. Optional. */
  close?(): void;
}

/**
 * Wraps bytes already in memory as a synchronous {@link ByteSource}. `read` returns views, not copies.
 *
 * @param bytes - the whole file.
 * @throws {TypeError} if `bytes` is not a Uint8Array.
 */
export function createByteSource(bytes: Uint8Array): ByteSource<Uint8Array> {
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
