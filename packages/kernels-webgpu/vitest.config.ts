import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Kernel tests run on lavapipe, a CPU Vulkan driver that shares the CI machine's cores: a first pipeline
    // compile can take seconds when other suites run alongside, and in one CI run (2026-12-08) tests took 10–100×
    // their time alone (a 0.2 s end-to-end layer 18.5 s), so the default leaves room for that.
    testTimeout: 120_000,
  },
});
