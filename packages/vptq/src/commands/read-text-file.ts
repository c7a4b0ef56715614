import { existsSync, readFileSync, statSync } from 'node:fs';

/** Reads a UTF-8 text file named by a CLI flag, with an error that names the flag and the file. */
export function readTextFile(flag: string, path: string): string {
  if (!existsSync(path)) throw new Error(`${flag} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new Error(`${flag} ${path} is not a file`);
  return readFileSync(path, 'utf8');
}
