import { defineConfig } from 'tsup';

// The facade has three entries: the library (browser-safe), its Node half (Dawn, paths, quantize), and the CLI;
// plus the processor BullMQ loads into a worker thread per CPU job of `vptq worker` (found beside the chunks).
export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/cli.ts', 'src/quantize-worker-thread.ts'],
  format: 'esm',
  target: 'es2022',
  // tsup's dts step sets the deprecated `baseUrl`; TypeScript 6 then needs this to build.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: true,
  external: ['webgpu', 'bullmq', 'ioredis'],
});
