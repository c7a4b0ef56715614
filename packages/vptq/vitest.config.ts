import { defineConfig } from 'vitest/config';

// The facade's tests quantize and evaluate a real model end to end: seconds each on a shared 2-core machine.
export default defineConfig({ test: { testTimeout: 120_000 } });
