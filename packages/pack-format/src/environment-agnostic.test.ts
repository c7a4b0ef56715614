import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

// tsconfig loads Node types for the tests' sake, so the compiler would not catch Node APIs in the library.
describe('library sources', () => {
  const folder = dirname(fileURLToPath(import.meta.url));
  const sources = readdirSync(folder).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));

  it('use no Node-only module or global', () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = readFileSync(join(folder, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"](node:|fs|path|os|buffer)/);
      expect(text, file).not.toMatch(/\b(process|Buffer|require|__dirname)\b[.(]/);
    }
  });
});
