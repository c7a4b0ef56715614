import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the OS temp dir for a benchmark's intermediate models. */
export function makeScratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'vptq-bench-'));
}
