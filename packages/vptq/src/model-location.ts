import { createModelFiles, urlModelFiles } from '@vptq/loader';
import type { ModelFiles, ModelFilesInput } from '@vptq/loader';

/**
 * Where a model or a tokenizer is, for {@link loadCpu} and {@link loadGpu}:
 * - a URL (a `string`, absolute or relative to the page or worker, or a `URL`): a model directory on a web server,
 *   or a file when its last segment ends in `.bin` or `.json` (`urlModelFiles` of `@vptq/loader`: HTTP Range
 *   requests where the server honours them);
 * - `ModelFiles` (`nodeModelFiles(path)` of `vptq/node` for a path on disk, `urlModelFiles`, `createModelFiles`);
 * - what `createModelFiles` takes: a `File`, `Blob` or bytes of one file (a llama2.c `.bin`), or the files of a
 *   model directory (a `FileList` from `<input type="file" webkitdirectory>`, a `Map` or object of name → data).
 */
export type ModelLocation = string | URL | ModelFiles | ModelFilesInput;

/**
 * The {@link ModelFiles} of a {@link ModelLocation}.
 * @throws {TypeError} naming `fn` for a string that is no URL (in Node: a path, which `nodeModelFiles` opens).
 */
export function resolveModelLocation(fn: string, location: ModelLocation): ModelFiles {
  if (typeof location === 'string' || location instanceof URL) {
    const pathHint = `; open a path on disk with nodeModelFiles(path) from vptq/node`;
    if (typeof location === 'string' && /^[A-Za-z]:[\\/]/.test(location)) {
      throw new TypeError(`${fn}: ${JSON.stringify(location)} is a file path, not a URL${pathHint}`);
    }
    try {
      return urlModelFiles(location);
    } catch (error) {
      throw new TypeError(`${fn}: ${JSON.stringify(String(location))} is not a URL${pathHint}`, { cause: error });
    }
  }
  if (isModelFiles(location)) return location;
  return createModelFiles(location);
}

function isModelFiles(value: unknown): value is ModelFiles {
  return typeof value === 'object' && value !== null && typeof (value as ModelFiles).open === 'function' && typeof (value as ModelFiles).pathOf === 'function';
}

/** Whether `name` is a llama2.c tokenizer file name (`tok512.bin`, `tokenizer.bin`), as looked for beside a checkpoint. */
export function isLlama2cTokenizerName(name: string): boolean {
  return /^(tok.*|tokenizer)\.bin$/.test(name);
}
