import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { relative } from 'node:path';

import { listInputFiles } from '../quantize/job-directory';

const cache = new Map<string, { stamp: string; fingerprint: string }>();

/**
 * SHA-256 of a model directory (each file's path relative to `dir`, its size and its bytes, in sorted order), as
 * 64 hex digits: what the coordinator and each worker compare to be sure they quantize the same model, wherever
 * each machine mounts it. Cached per process while the files' sizes and modification times stay the same, so a
 * worker hashes a model once, not once per job.
 */
export function fingerprintModel(dir: string): string {
  const files = listInputFiles(dir);
  const sizes = files.map((file) => statSync(file));
  const stamp = files.map((file, index) => `${file}\0${sizes[index].size}\0${sizes[index].mtimeMs}`).join('\n');
  const cached = cache.get(dir);
  if (cached?.stamp === stamp) return cached.fingerprint;
  const hash = createHash('sha256');
  const piece = Buffer.allocUnsafe(16 * 1024 * 1024);
  files.forEach((file, index) => {
    hash.update(`${relative(dir, file)}\0${sizes[index].size}\0`);
    const fd = openSync(file, 'r');
    try {
      for (let read = readSync(fd, piece); read > 0; read = readSync(fd, piece)) hash.update(piece.subarray(0, read));
    } finally {
      closeSync(fd);
    }
  });
  const fingerprint = hash.digest('hex');
  cache.set(dir, { stamp, fingerprint });
  return fingerprint;
}
