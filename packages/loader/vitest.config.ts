import { defineConfig } from 'vitest/config';

// Fuzz and fixture tests take seconds on a shared 2-core machine; vitest's 5 s default is too tight there.
export default defineConfig({ test: { testTimeout: 60_000 } });
