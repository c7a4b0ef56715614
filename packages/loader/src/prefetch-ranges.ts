import type { LoaderFile, StagedBytes } from './file-range';
import { LoaderError } from './loader-error';

/** Bytes of one file that a tensor occupies. */
export interface ByteRange {
  readonly file: LoaderFile;
  readonly byteOffset: number;
  readonly byteLength: number;
}

// Neighbouring tensors closer than this are fetched in one request: a round trip costs more than the gap.
const mergeGapBytes = 64 * 1024;
// But no single request (and ArrayBuffer) grows past this.
const maxRequestBytes = 256 * 1024 * 1024;

/**
 * Fetches `ranges` of the asynchronous files among `files` (coalescing neighbours into few reads, all in
 * flight at once) and makes them each file's staged bytes, replacing what an earlier prefetch staged. Files whose
 * reads are synchronous need nothing.
 * @throws {LoaderError} VPTQ_LOADER_IO or VPTQ_LOADER_TRUNCATED naming the file.
 */
export async function prefetchRanges(fn: string, files: readonly LoaderFile[], ranges: readonly ByteRange[]): Promise<void> {
  const byFile = new Map<LoaderFile, ByteRange[]>();
  for (const range of ranges) {
    if (!range.file.asynchronous || range.byteLength === 0) continue;
    const list = byFile.get(range.file) ?? [];
    list.push(range);
    byFile.set(range.file, list);
  }
  const reads = [...byFile].flatMap(([file, list]) => merge(list).map(({ byteOffset, byteLength }) => ({ file, byteOffset, byteLength })));
  const fetched = await Promise.all(reads.map((read) => fetchRange(fn, read)));
  for (const file of files) if (file.asynchronous) file.staged = [];
  const staged = new Map<LoaderFile, StagedBytes[]>();
  reads.forEach((read, index) => {
    const list = staged.get(read.file) ?? [];
    list.push({ byteOffset: read.byteOffset, bytes: fetched[index] });
    staged.set(read.file, list);
  });
  for (const [file, list] of staged) file.staged = list;
}

function merge(ranges: readonly ByteRange[]): { byteOffset: number; byteLength: number }[] {
  const sorted = [...ranges].sort((a, b) => a.byteOffset - b.byteOffset);
  const merged: { byteOffset: number; byteLength: number }[] = [];
  for (const { byteOffset, byteLength } of sorted) {
    const last = merged.at(-1);
    const end = byteOffset + byteLength;
    if (last !== undefined && byteOffset <= last.byteOffset + last.byteLength + mergeGapBytes && end - last.byteOffset <= maxRequestBytes) {
      last.byteLength = Math.max(last.byteLength, end - last.byteOffset);
    } else {
      merged.push({ byteOffset, byteLength });
    }
  }
  return merged;
}

async function fetchRange(fn: string, { file, byteOffset, byteLength }: ByteRange): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await file.source.read(byteOffset, byteLength);
  } catch (error) {
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot read bytes ${byteOffset}..${byteOffset + byteLength} of ${file.path} (${(error as Error).message})`, {
      path: file.path,
      byteOffset,
      cause: error,
    });
  }
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== byteLength) {
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} ended while reading bytes ${byteOffset}..${byteOffset + byteLength} (got ${bytes instanceof Uint8Array ? bytes.byteLength : 0})`,
      { path: file.path, byteOffset },
    );
  }
  return bytes;
}
