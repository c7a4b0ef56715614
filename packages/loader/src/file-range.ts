import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { LoaderError } from './loader-error';

/** An open read-only file descriptor with its size, for reads at explicit offsets. */
export interface OpenFile {
  readonly path: string;
  readonly fd: number;
  readonly byteLength: number;
}

/** Opens `path` read-only; a missing file or a directory becomes a LoaderError naming `fn`. */
export function openFile(fn: string, path: string): OpenFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'VPTQ_LOADER_NOT_FOUND' : 'VPTQ_LOADER_IO';
    throw new LoaderError(code, `${fn}: cannot open ${path} (${(error as Error).message})`, { path, cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${path} is not a regular file`, { path });
    }
    return { path, fd, byteLength: stats.size };
  } catch (error) {
    closeSync(fd);
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot stat ${path} (${(error as Error).message})`, {
      path,
      cause: error,
    });
  }
}

/** Closes a file opened by {@link openFile}; closing twice is harmless. */
export function closeFile(file: OpenFile): void {
  try {
    closeSync(file.fd);
  } catch {
    // Already closed: close() is idempotent for callers.
  }
}

/**
 * Fills `target` with the bytes of `file` at `byteOffset`, or fails with VPTQ_LOADER_TRUNCATED naming `what`
 * (a tensor or field) when the file ends first.
 */
export function readExact(
  fn: string,
  file: OpenFile,
  target: Uint8Array,
  byteOffset: number,
  what: { readonly tensor?: string; readonly field?: string },
): void {
  const label = what.tensor !== undefined ? `tensor ${what.tensor}` : `field ${what.field}`;
  if (byteOffset + target.byteLength > file.byteLength) {
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} is truncated: ${label} needs bytes ${byteOffset}..${byteOffset + target.byteLength} but the file has ${file.byteLength}`,
      { path: file.path, ...what, byteOffset },
    );
  }
  let done = 0;
  while (done < target.byteLength) {
    let count: number;
    try {
      count = readSync(file.fd, target, done, target.byteLength - done, byteOffset + done);
    } catch (error) {
      throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot read ${label} from ${file.path} (${(error as Error).message})`, {
        path: file.path,
        ...what,
        byteOffset,
        cause: error,
      });
    }
    if (count === 0) {
      throw new LoaderError(
        'VPTQ_LOADER_TRUNCATED',
        `${fn}: ${file.path} ended while reading ${label} at byte ${byteOffset + done}`,
        { path: file.path, ...what, byteOffset },
      );
    }
    done += count;
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each group of `width` bytes in place, so little-endian file data reads right on a big-endian host. */
export function fromLittleEndian(bytes: Uint8Array, width: number): void {
  if (littleEndianHost || width === 1) return;
  for (let start = 0; start < bytes.length; start += width) {
    for (let low = start, high = start + width - 1; low < high; low++, high--) {
      const swap = bytes[low];
      bytes[low] = bytes[high];
      bytes[high] = swap;
    }
  }
}

/**
 * Throws VPTQ_LOADER_NOT_FINITE when `values` holds NaN or ±Infinity, naming the first bad element.
 * Checked at read time because a single non-finite weight silently poisons every later activation.
 */
export function assertFinite(fn: string, path: string, tensor: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value - value !== 0) {
      throw new LoaderError(
        'VPTQ_LOADER_NOT_FINITE',
        `${fn}: ${path}: tensor ${tensor} holds ${value} at element ${i}; weights must be finite`,
        { path, tensor },
      );
    }
  }
}
