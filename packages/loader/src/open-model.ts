import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

import { LoaderError } from './loader-error';
import type { ModelSource } from './model-types';
import { openHfModel } from './open-hf-model';
import { openLlama2c } from './open-llama2c';

/**
 * Opens a model whatever its format: a file is read as a llama2.c checkpoint ({@link openLlama2c}), a directory
 * with config.json as a Hugging Face model ({@link openHfModel}).
 *
 * @param path - A llama2.c `.bin` file or a model directory.
 * @returns A lazily read ModelSource; call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory without config.json),
 * or any error of the format's reader.
 */
export function openModel(path: string): ModelSource {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`openModel: path must be a non-empty string (got ${String(path)})`);
  }
  const stats = statOrThrow('openModel', path);
  if (stats.isFile()) return openLlama2c(path);
  if (!stats.isDirectory() || !statOrUndefined(join(path, 'config.json'))?.isFile()) {
    throw new LoaderError(
      'VPTQ_LOADER_UNKNOWN_FORMAT',
      `openModel: ${path} is neither a llama2.c .bin file nor a model directory with config.json`,
      { path },
    );
  }
  return openHfModel(path);
}

/** `fs.statSync` whose ENOENT becomes VPTQ_LOADER_NOT_FOUND naming `fn`. */
export function statOrThrow(fn: string, path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'VPTQ_LOADER_NOT_FOUND' : 'VPTQ_LOADER_IO';
    throw new LoaderError(code, `${fn}: cannot open ${path} (${(error as Error).message})`, { path, cause: error });
  }
}

/** `fs.statSync`, or undefined when the path does not exist. */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
