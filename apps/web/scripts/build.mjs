#!/usr/bin/env node
// `pnpm --filter web build`: the demo as a static folder, dist/, that any static server can serve (no network
// needed at run time):
//   dist/index.html, dist/main.js, dist/quantize-worker.js   the page and its worker (esbuild bundles of src/)
//   dist/demo-settings.json                                  the settings below (the page and the browser test read them)
//   dist/models/stories260K-hf/                              stories260K as a Hugging Face directory (`vptq convert`)
//   dist/models/stories260K-vptq-2bit/                       its 2-bit VPTQ packed directory (`vptq quantize`, fixed seed)
//   dist/data/calibration-head.txt, valid-dev-000-049.txt    the in-tab calibration and evaluation texts
// The models are made by the repository's own CLI (packages/vptq/dist/cli.js: build vptq first, as
// `turbo run build --filter=web...` does) into public/models/, git-ignored, and kept there while
// demo-settings.json and the inputs are unchanged (a stamp file), so a rebuild takes a second.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(app, '../..');
const examples = join(root, 'examples/stories260K');
const cli = join(root, 'packages/vptq/dist/cli.js');
const settings = JSON.parse(readFileSync(join(app, 'demo-settings.json'), 'utf8'));
const started = Date.now();
const log = (line) => console.log(`web build: ${line}`);

if (!existsSync(cli)) throw new Error(`web build: ${cli} is missing; build vptq first (pnpm exec turbo run build --filter=web...)`);

// ---- models, cached in public/models by a stamp of their inputs
const publicDir = join(app, 'public');
const stampFile = join(publicDir, 'models', '.stamp');
const sha = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const stamp = JSON.stringify({
  bundled: settings.bundled,
  source: settings.source,
  inputs: ['stories260K.bin', 'tok512.bin', 'calibration.txt'].map((name) => sha(join(examples, name))),
  cli: sha(cli),
});
if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
  rmSync(join(publicDir, 'models'), { recursive: true, force: true });
  mkdirSync(join(publicDir, 'models'), { recursive: true });
  const run = (args) => execFileSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  log(`converting stories260K to ${settings.source.dir}`);
  run(['convert', '--from', 'llama2c', '--to', 'hf', '-m', join(examples, 'stories260K.bin'), '-t', join(examples, 'tok512.bin'), '-o', join(publicDir, settings.source.dir)]);
  log(`quantizing stories260K to ${settings.bundled.dir} (${JSON.stringify(settings.bundled.settings)}, CPU)`);
  run([
    'quantize',
    '-m', join(examples, 'stories260K.bin'),
    '--calib', join(examples, 'calibration.txt'),
    '-o', join(publicDir, settings.bundled.dir),
    '--device', 'cpu',
    ...cliFlags(settings.bundled.settings),
  ]);
  writeFileSync(stampFile, stamp);
} else {
  log('models unchanged (public/models/.stamp)');
}

// ---- texts
mkdirSync(join(publicDir, 'data'), { recursive: true });
const calibration = readFileSync(join(root, settings.calibrationText.from));
writeFileSync(join(publicDir, settings.calibrationText.file), cutUtf8(calibration, settings.calibrationText.bytes));
const stories = readFileSync(join(root, settings.evalText.from), 'utf8').split('<|endoftext|>');
writeFileSync(join(publicDir, settings.evalText.file), `${stories.slice(0, settings.evalText.stories).join('<|endoftext|>')}<|endoftext|>\n`);

// ---- the page
const dist = join(app, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(publicDir, dist, { recursive: true, filter: (path) => !path.endsWith('.stamp') });
cpSync(join(app, 'index.html'), join(dist, 'index.html'));
cpSync(join(app, 'demo-settings.json'), join(dist, 'demo-settings.json'));
const esbuild = createRequire(join(root, 'package.json'))('esbuild');
await esbuild.build({
  entryPoints: [join(app, 'src/main.ts'), join(app, 'src/quantize-worker.ts')],
  outdir: dist,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
log(`dist/ ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

/** `vptq quantize` flags of a settings object (camelCase → --kebab-case, with the CLI's own names). */
function cliFlags(values) {
  const names = { vectorLength: 'vector-len', numCentroids: 'centroids', numResidualCentroids: 'res-centroids', calibrationTokens: 'calib-tokens' };
  return Object.entries(values).flatMap(([key, value]) => [`--${names[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(value)]);
}

/** The first `bytes` bytes of `buffer`, cut back to a whole line (so never inside a UTF-8 sequence). */
function cutUtf8(buffer, bytes) {
  const head = buffer.subarray(0, bytes);
  const end = head.lastIndexOf(0x0a);
  return head.subarray(0, end < 0 ? head.length : end + 1);
}
