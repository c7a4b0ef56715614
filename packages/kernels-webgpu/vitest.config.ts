import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Kernel tests run on lavapipe, a CPU Vulkan driver that shares the CI machine's cores: a first
    // pipeline compile can take seconds when other suites run alongside.
    testTimeout: 30_000,
  },
});
