import { closeFile, openFileSteps, readWholeFileSteps } from './file-range';
import { LoaderError } from './loader-error';
import type { LoaderErrorCode } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';

/**
 * Reads and parses JSON file `name` of `files`, which must hold an object. A missing file is
 * VPTQ_LOADER_NOT_FOUND (or `undefined` when `optional`); unreadable, non-JSON or non-object content is `badCode`.
 */
export function* readJsonSteps(
  fn: string,
  files: ModelFiles,
  name: string,
  badCode: LoaderErrorCode,
  optional: boolean,
): Steps<Record<string, unknown> | undefined> {
  const path = files.pathOf(name);
  const file = yield* openFileSteps(fn, files, name);
  if (file === undefined) {
    if (optional) return undefined;
    throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: ${path} does not exist`, { path });
  }
  let bytes: Uint8Array;
  try {
    bytes = yield* readWholeFileSteps(fn, file);
  } finally {
    closeFile(file);
  }
  return parseJsonObject(fn, path, new TextDecoder().decode(bytes), badCode);
}

/** Parses `text` as a JSON object, or fails with `badCode` naming `fn` and `path`. */
export function parseJsonObject(fn: string, path: string, text: string, badCode: LoaderErrorCode): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LoaderError(badCode, `${fn}: ${path} is not valid JSON (${(error as Error).message})`, {
      path,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LoaderError(badCode, `${fn}: ${path} must hold a JSON object`, { path });
  }
  return value as Record<string, unknown>;
}
