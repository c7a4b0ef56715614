import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes `chunks` to `path` through a temporary file in the same directory, then renames it over `path`, so a
 * reader (or a resumed run, or another worker) sees either the old file or the complete new one, never a half-written one.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[] | string): void {
  // Unique per writer: workers on several machines (equal pids) may write the same result to shared storage.
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(temporary, 'w');
  try {
    if (typeof chunks === 'string') writeSync(fd, chunks);
    else for (const chunk of chunks) writeAll(fd, chunk);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
}
