import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh empty folder under the OS temp dir. */
export function makeTempDir(prefix = 'vptq-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
