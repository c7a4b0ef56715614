import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

import { findDeclaredQuantization } from './find-declared-quantization';
import { LoaderError } from './loader-error';
import type { ModelSource } from './model-types';
import { openHfModel } from './open-hf-model';
import { openLlama2c } from './open-llama2c';
import { openVptqModel } from './open-vptq-model';
import { readJsonObject } from './read-json-file';
import type { VptqModelSource } from './vptq-model-source';

/**
 * Opens a model whatever its format: a file is read as a llama2.c checkpoint ({@link openLlama2c}); a directory
 * with config.json as a VPTQ packed model ({@link openVptqModel}) when config.json declares VPTQ quantization
 * (`quant_method: "vptq"` in `quantization_config` or `text_config.quantization_config`, or a legacy top-level
 * `quant_config`), otherwise as a Hugging Face model ({@link openHfModel}, which rejects other quantization methods).
 *
 * @param path - A llama2.c `.bin` file or a model directory.
 * @returns A lazily read ModelSource (a {@link VptqModelSource} for VPTQ directories: narrow with
 * `'readQuantizedLayer' in model`); call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory without config.json),
 * or any error of the format's reader.
 */
export function openModel(path: string): ModelSource | VptqModelSource {
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
  const json = readJsonObject('openModel', join(path, 'config.json'), 'VPTQ_LOADER_BAD_CONFIG', false) as Record<string, unknown>;
  return findDeclaredQuantization(json)?.method === 'vptq' ? openVptqModel(path) : openHfModel(path);
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
