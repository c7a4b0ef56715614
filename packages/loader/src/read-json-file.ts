import { readFileSync } from 'node:fs';

import { LoaderError } from './loader-error';
import type { LoaderErrorCode } from './loader-error';

/**
 * Reads and parses a JSON file that must hold an object. A missing file is VPTQ_LOADER_NOT_FOUND (or
 * `undefined` when `optional`); unreadable, non-JSON or non-object content is `badCode`.
 */
export function readJsonObject(
  fn: string,
  path: string,
  badCode: LoaderErrorCode,
  optional: boolean,
): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (optional) return undefined;
      throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: ${path} does not exist`, { path, cause: error });
    }
    throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot read ${path} (${(error as Error).message})`, {
      path,
      cause: error,
    });
  }
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
