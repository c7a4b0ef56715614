import type { ByteSource } from '@vptq/pack-format/safetensors';

import { isThenable, settle } from './loader-steps';
import type { Steps } from './loader-steps';
import { LoaderError } from './loader-error';
import type { ModelFiles } from './model-files';

/** One opened file of a model, read at explicit offsets. */
export interface LoaderFile {
  /** Its path or URL, for messages. */
  readonly path: string;
  readonly byteLength: number;
  readonly source: ByteSource;
  /** Whether its reads return Promises (`fetch`, `Blob`): tensors are then read from {@link LoaderFile.staged} bytes. */
  readonly asynchronous: boolean;
  /** Bytes the latest prefetch fetched, ascending by offset (asynchronous sources only). */
  staged: readonly StagedBytes[];
}

/** A run of fetched bytes of a file. */
export interface StagedBytes {
  readonly byteOffset: number;
  readonly bytes: Uint8Array;
}

/** What a read is for, in messages: a tensor or a header field. */
export interface ReadTarget {
  readonly tensor?: string;
  readonly field?: string;
}

/**
 * Opens file `name` of `files`, or returns undefined when it does not exist. A zero-byte read tells whether the
 * source answers directly or with Promises (a source answers every read the same way).
 */
export function* openFileSteps(fn: string, files: ModelFiles, name: string): Steps<LoaderFile | undefined> {
  const path = files.pathOf(name);
  let source: ByteSource | undefined;
  try {
    source = yield* settle(files.open(name));
  } catch (error) {
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot open ${path} (${(error as Error).message})`, { path, cause: error });
  }
  if (source === undefined) return undefined;
  if (!Number.isSafeInteger(source.byteLength) || source.byteLength < 0) {
    source.close?.();
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${path}: byteLength must be a non-negative integer (got ${String(source.byteLength)})`, { path });
  }
  const probe = source.read(0, 0);
  const asynchronous = isThenable(probe);
  if (asynchronous) probe.then(undefined, () => undefined);
  return { path, byteLength: source.byteLength, source, asynchronous, staged: [] };
}

/** Opens file `name` or fails with VPTQ_LOADER_NOT_FOUND naming `fn` and its path. */
export function* openRequiredFileSteps(fn: string, files: ModelFiles, name: string): Steps<LoaderFile> {
  const file = yield* openFileSteps(fn, files, name);
  if (file === undefined) {
    const path = files.pathOf(name);
    throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: ${path} does not exist`, { path });
  }
  return file;
}

/** Closes a file opened by {@link openFileSteps} and drops its fetched bytes; closing twice is harmless. */
export function closeFile(file: LoaderFile): void {
  file.staged = [];
  try {
    file.source.close?.();
  } catch {
    // Already closed: close() is idempotent for callers.
  }
}

/**
 * Reads `byteLength` bytes at `byteOffset` while a model is being opened, waiting for asynchronous sources.
 * @throws {LoaderError} VPTQ_LOADER_TRUNCATED when the file ends first, VPTQ_LOADER_IO when the read fails.
 */
export function* readRangeSteps(fn: string, file: LoaderFile, byteOffset: number, byteLength: number, what: ReadTarget): Steps<Uint8Array> {
  checkBounds(fn, file, byteOffset, byteLength, what);
  let bytes: unknown;
  try {
    bytes = yield* settle(file.source.read(byteOffset, byteLength));
  } catch (error) {
    throw readFailure(fn, file, byteOffset, what, error);
  }
  return checkRead(fn, file, byteOffset, byteLength, what, bytes);
}

/** Reads a whole file while opening (tokenizers, JSON). */
export function* readWholeFileSteps(fn: string, file: LoaderFile): Steps<Uint8Array> {
  return yield* readRangeSteps(fn, file, 0, file.byteLength, { field: 'file' });
}

/**
 * Reads `byteLength` bytes at `byteOffset` synchronously: from the source itself, or for an asynchronous source
 * from the bytes its model's `prefetch` fetched. The result may be a view: copy before changing it.
 * @throws {LoaderError} VPTQ_LOADER_NOT_PREFETCHED, VPTQ_LOADER_TRUNCATED or VPTQ_LOADER_IO, naming `fn`, the
 * file and the tensor or field.
 */
export function readBytes(fn: string, file: LoaderFile, byteOffset: number, byteLength: number, what: ReadTarget): Uint8Array {
  checkBounds(fn, file, byteOffset, byteLength, what);
  if (file.asynchronous) {
    for (const run of file.staged) {
      const start = byteOffset - run.byteOffset;
      if (start >= 0 && start + byteLength <= run.bytes.byteLength) return run.bytes.subarray(start, start + byteLength);
    }
    throw new LoaderError(
      'VPTQ_LOADER_NOT_PREFETCHED',
      `${fn}: ${file.path} is read asynchronously (a URL or a Blob) and ${describe(what)} was not prefetched; await source.prefetch([…]) with its name first`,
      { path: file.path, ...what, byteOffset },
    );
  }
  let bytes: unknown;
  try {
    bytes = file.source.read(byteOffset, byteLength);
  } catch (error) {
    throw readFailure(fn, file, byteOffset, what, error);
  }
  if (isThenable(bytes)) {
    bytes.then(undefined, () => undefined);
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: ${file.path} answered a read with a Promise after answering directly when opened`, {
      path: file.path,
      ...what,
      byteOffset,
    });
  }
  return checkRead(fn, file, byteOffset, byteLength, what, bytes);
}

const freshReads = new WeakSet<ByteSource>();

/**
 * Marks `source` as one whose every read returns a new buffer holding exactly the bytes asked for (a local file
 * read with `fs.readSync`), which {@link readOwnedBytes} then hands out without copying.
 */
export function markFreshReads<S extends ByteSource>(source: S): S {
  freshReads.add(source);
  return source;
}

/**
 * The bytes of `file` at `byteOffset` (see {@link readBytes}) in a new buffer the caller owns, starting at
 * offset 0 of its `ArrayBuffer`: the read itself where the source returns fresh buffers, otherwise a copy.
 */
export function readOwnedBytes(fn: string, file: LoaderFile, byteOffset: number, byteLength: number, what: ReadTarget): Uint8Array {
  const bytes = readBytes(fn, file, byteOffset, byteLength, what);
  const fresh = !file.asynchronous && freshReads.has(file.source) && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return fresh ? bytes : bytes.slice();
}

/** Reads `count` little-endian f32 values of `file` at `byteOffset` into a new Float32Array. */
export function readF32(fn: string, file: LoaderFile, byteOffset: number, count: number, what: ReadTarget): Float32Array {
  const bytes = readOwnedBytes(fn, file, byteOffset, count * 4, what);
  fromLittleEndian(bytes, 4);
  return new Float32Array(bytes.buffer, 0, count);
}

function describe(what: ReadTarget): string {
  return what.tensor !== undefined ? `tensor ${what.tensor}` : `field ${what.field}`;
}

function checkBounds(fn: string, file: LoaderFile, byteOffset: number, byteLength: number, what: ReadTarget): void {
  if (byteOffset + byteLength > file.byteLength) {
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} is truncated: ${describe(what)} needs bytes ${byteOffset}..${byteOffset + byteLength} but the file has ${file.byteLength}`,
      { path: file.path, ...what, byteOffset },
    );
  }
}

function checkRead(fn: string, file: LoaderFile, byteOffset: number, byteLength: number, what: ReadTarget, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: reading ${describe(what)} from ${file.path} gave no bytes (got ${typeof bytes})`, {
      path: file.path,
      ...what,
      byteOffset,
    });
  }
  if (bytes.byteLength !== byteLength) {
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} ended while reading ${describe(what)} at byte ${byteOffset + Math.min(bytes.byteLength, byteLength)}`,
      { path: file.path, ...what, byteOffset },
    );
  }
  return bytes;
}

function readFailure(fn: string, file: LoaderFile, byteOffset: number, what: ReadTarget, error: unknown): LoaderError {
  if (error instanceof LoaderError) return error;
  return new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot read ${describe(what)} from ${file.path} (${(error as Error).message})`, {
    path: file.path,
    ...what,
    byteOffset,
    cause: error,
  });
}

/** Whether this host stores numbers little-endian (as safetensors and llama2.c files do). */
export const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
 * The first F16 or BF16 bit pattern of `bits` that is NaN or ±Infinity (its exponent bits all ones: 5 bits at
 * 10..14 for F16, 8 at 7..14 for BF16), or −1 when every value is finite.
 */
export function firstNonFiniteHalf(bits: Uint16Array, dtype: 'F16' | 'BF16'): number {
  const mask = dtype === 'F16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < bits.length; i++) if ((bits[i] & mask) === mask) return i;
  return -1;
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
