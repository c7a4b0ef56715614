import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { ByteSource } from '@vptq/pack-format/safetensors';

import { markFreshReads } from './file-range';
import { LoaderError } from './loader-error';
import type { ModelFiles } from './model-files';

/**
 * The {@link ModelFiles} of a model on disk: a directory (HF or VPTQ: config.json, safetensors, tokenizer files), or
 * one file (a llama2.c `.bin`, a tokenizer `.bin` or `tokenizer.json`), which becomes `entry` beside the other
 * files of its folder. Files open as synchronous `ByteSource`s over `fs.readSync`, so `openModelFiles` reads them
 * without `prefetch`, at the speed of the path-based openers.
 *
 * @param path - a model directory or file.
 * @throws {TypeError} if `path` is not a non-empty string.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND when nothing is at `path`.
 */
export function nodeModelFiles(path: string): ModelFiles {
  return nodeFilesAt('nodeModelFiles', path);
}

/** {@link nodeModelFiles} with `fn` named in its errors. */
export function nodeFilesAt(fn: string, path: string): ModelFiles {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`${fn}: path must be a non-empty string (got ${String(path)})`);
  }
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'VPTQ_LOADER_NOT_FOUND' : 'VPTQ_LOADER_IO';
    throw new LoaderError(code, `${fn}: cannot open ${path} (${(error as Error).message})`, { path, cause: error });
  }
  return isFile ? nodeFileFiles(path) : nodeDirectoryFiles(path);
}

/** A directory's files, whether or not it exists (a missing file then opens as undefined). */
export function nodeDirectoryFiles(dir: string): ModelFiles {
  return {
    path: dir,
    pathOf: (name) => join(dir, name),
    open: (name) => openNodeFile(join(dir, name)),
    list: () => listFiles(dir),
  };
}

/** One file as `entry`, beside the other files of its folder; its own path is kept exactly as given. */
export function nodeFileFiles(path: string): ModelFiles {
  const dir = dirname(path);
  const entry = basename(path);
  const pathOf = (name: string): string => (name === entry ? path : join(dir, name));
  return {
    path,
    entry,
    pathOf,
    open: (name) => openNodeFile(pathOf(name)),
    list: () => listFiles(dir),
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
}

/** Opens `path` read-only as a ByteSource, or returns undefined when it does not exist. */
function openNodeFile(path: string): ByteSource<Uint8Array> | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let byteLength: number;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new Error('not a regular file');
    byteLength = stats.size;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return markFreshReads({
    byteLength,
    read(byteOffset: number, length: number): Uint8Array {
      const available = Math.max(0, Math.min(length, byteLength - byteOffset));
      const bytes = new Uint8Array(available);
      let done = 0;
      while (done < available) {
        const count = readSync(fd, bytes, done, available - done, byteOffset + done);
        if (count === 0) return bytes.subarray(0, done);
        done += count;
      }
      return bytes;
    },
    close(): void {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  });
}
