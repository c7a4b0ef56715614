import type { ByteSource } from '@vptq/pack-format/safetensors';

/**
 * Opens a `Blob` (a `File` from an `<input type="file">`, a drop or the File System Access API) for random
 * access: each read slices it and waits for `arrayBuffer()`, so nothing but the bytes asked for is loaded.
 *
 * @throws {TypeError} if `blob` is not a Blob.
 */
export function blobByteSource(blob: Blob): ByteSource<Promise<Uint8Array>> {
  if (typeof blob !== 'object' || blob === null || typeof blob.slice !== 'function' || !Number.isSafeInteger(blob.size)) {
    throw new TypeError(`blobByteSource: blob must be a Blob or File (got ${blob === null ? 'null' : typeof blob})`);
  }
  return {
    byteLength: blob.size,
    async read(byteOffset: number, byteLength: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || !Number.isSafeInteger(byteLength) || byteLength < 0) {
        throw new RangeError(`ByteSource.read: byteOffset and byteLength must be non-negative integers (got ${byteOffset}, ${byteLength})`);
      }
      return new Uint8Array(await blob.slice(byteOffset, byteOffset + byteLength).arrayBuffer());
    },
  };
}
