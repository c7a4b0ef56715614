// The publishable packages of the workspace and their entries, as the scripts under scripts/ read them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every package under packages/ that is not private: `{ dir, json }` (json = its parsed package.json). */
export function listPublicPackages() {
  const packagesDir = join(root, 'packages');
  return readdirSync(packagesDir)
    .map((name) => join(packagesDir, name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ json }) => !json.private);
}

/** Entry name (`.`, `./bench`, …) → its source file (`.` → src/index.ts, `./x` → src/x.ts), from the exports map. */
export function listEntries({ dir, json }) {
  return Object.keys(json.exports ?? {})
    .filter((key) => key !== './package.json')
    .map((key) => ({ key, file: join(dir, 'src', key === '.' ? 'index.ts' : `${key.slice(2)}.ts`) }));
}
