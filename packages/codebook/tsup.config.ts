import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/engine.ts'],
  format: 'esm',
  target: 'es2022',
  // tsup's dts step sets the deprecated `baseUrl`; TypeScript 6 then needs this to build.
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: true,
});
