import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // GPU tests run on lavapipe, a CPU Vulkan driver sharing the CI machine's two cores with other suites.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
