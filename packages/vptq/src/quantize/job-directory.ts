import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from './write-atomic';

/**
 * The folder beside the output (`<out>.partial`) where a run keeps its finished layers. A run started again
 * with the same inputs and arguments continues from it; a run with anything different starts it afresh.
 */
export interface JobDirectory {
  readonly path: string;
  /** The job's fingerprint (as given to {@link openJobDirectory}). */
  readonly fingerprint: string;
  /** True when finished layers of this very job were found. */
  readonly resumed: boolean;
}

/**
 * A stable fingerprint of a job: its arguments and the bytes of every input file (read in 64 MiB pieces, so
 * shards of many gigabytes hash in bounded memory).
 */
export function fingerprintJob(settings: unknown, inputFiles: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(settings));
  const piece = Buffer.allocUnsafe(64 * 1024 * 1024);
  for (const file of inputFiles) {
    hash.update(`\0${file.length}\0`);
    const fd = openSync(file, 'r');
    try {
      for (let read = readSync(fd, piece); read > 0; read = readSync(fd, piece)) hash.update(piece.subarray(0, read));
    } finally {
      closeSync(fd);
    }
  }
  return hash.digest('hex');
}

/** Every regular file under `path` (a file, or a directory walked recursively in sorted order). */
export function listInputFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listInputFiles(join(path, name)));
}

/** Opens (or starts afresh) the job directory of `out` for the job with `fingerprint`. */
export function openJobDirectory(out: string, fingerprint: string): JobDirectory {
  const path = `${out}.partial`;
  const stamp = join(path, 'job.json');
  if (existsSync(stamp)) {
    const previous = JSON.parse(readFileSync(stamp, 'utf8')) as { fingerprint?: string };
    if (previous.fingerprint === fingerprint) return { path, fingerprint, resumed: true };
  }
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  writeFileAtomic(stamp, `${JSON.stringify({ fingerprint }, null, 2)}\n`);
  return { path, fingerprint, resumed: false };
}
