import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `shared/` folder that holds the fixtures: `$VPTQ_SHARED` if set, otherwise `../shared` beside the
 * repository root (where the developer machines and CI put it).
 */
export function sharedDir(): string {
  if (process.env.VPTQ_SHARED) return resolve(process.env.VPTQ_SHARED);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return resolve(dir, '..', 'shared');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('sharedDir: no pnpm-workspace.yaml above test-utils; set VPTQ_SHARED');
    dir = parent;
  }
}

/** Absolute path of a file under `shared/fixtures/`, e.g. `fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin')`. */
export function fixturePath(...parts: string[]): string {
  return join(sharedDir(), 'fixtures', ...parts);
}
