import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/authoring.ts', 'src/cpu.ts', 'src/wgsl.ts', 'src/quantize.ts', 'src/bench.ts'],
  format: 'esm',
  target: 'es2022',
  // tsup's dts step sets the deprecated `baseUrl`; TypeScript 6 then needs this to build. The bundled d.ts
  // drops src/index.ts's triple-slash reference, and consumers need it for GPUDevice & co.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' }, banner: '/// <reference types="@webgpu/types" />' },
  sourcemap: true,
  clean: true,
});
