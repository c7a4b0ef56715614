#!/usr/bin/env node
// `pnpm test:pack`: the published packages as a user gets them. Builds, packs every public package with
// `pnpm pack` (which turns `workspace:` ranges into versions; checked), installs all the tarballs with npm into a
// scratch project in a fresh folder under os.tmpdir() (outside the workspace: no links, no pnpm), then
// type-checks and runs every package README's examples there under Node. Ends with "N passed, N failed, N skipped";
// exits non-zero when any example fails (type errors included) or any step before fails.
//
// Which README code blocks are examples: EVERY fenced block whose language is `ts` or `js` in
// packages/*/README.md of a public package. Put text that is not a runnable example in another kind of block
// (```text, ```sh). An HTML comment on the line right before the fence adjusts the block:
//
//   <!-- test:pack uses: device, hessian; replace: 14336 => 64 -->
//
//   - `uses: a, b`: the block is a fragment that takes these variables as given. They come from
//     scripts/test-pack/context.ts (CPU values: hessian, prepared, weight, points, weights) and
//     scripts/test-pack/gpu-context.ts (device, source, tokens, stream, activationChunks) and
//     scripts/test-pack/http-context.ts (modelUrl: the run folder's packed model served over HTTP); the harness
//     prepends `import { a, b } from './context.js'` (one import line per module) and, for GPU values,
//     appends `await releaseContext()`.
//   - `replace: FROM => TO` (repeatable, `;`-separated): the text FROM (which must occur in the block) is replaced
//     by TO before the block is type-checked and run, e.g. a size that is realistic for a 7B model but takes too
//     long on a 2-core CPU or software Vulkan. The summary table lists every replacement.
//   - `browser`: the block is browser code (navigator.gpu, the DOM, URLs relative to a page) that cannot run under
//     Node. It is type-checked on its own against the installed packages with the DOM lib (lib ES2023 + DOM,
//     module ESNext, moduleResolution Bundler, as a bundler sees it) and not run; the summary reports it as
//     "browser: type-checked; runs in pnpm test:browser", where apps/web makes the same calls in headless Chromium.
//     It counts as passed when it type-checks.
// A marker that is not right before a ts/js fence, an unknown directive, an unknown name or a FROM that the block
// does not contain fails the run.
//
// How a block runs: it is written to examples/<package>-L<line>.ts in the scratch project (which has `typescript`
// and `@types/node` at the workspace's versions). All of them are type-checked together by `tsc` (strict, module
// NodeNext, against the installed packages' .d.ts; skipLibCheck as in the workspace) and emitted as JavaScript;
// type errors are reported at their README line. Each package's examples then run one after the other, in README
// order, with `node` in their own folder (run/<package>/). Files the examples name are there under those names:
//   stories260K.bin, tok512.bin         examples/stories260K/ of this repository
//   tinystories.txt                     examples/stories260K/calibration.txt (the calibration text)
//   tinystories_sample.txt, valid.txt   $VPTQ_SHARED/fixtures/tinystories-cs336-sample/tinystories_sample.txt
//                                       (5 stories; VPTQ_SHARED defaults to ../shared beside the repository)
//   stories260K-v8-k256-256/            a VPTQ packed directory, quantized by the installed `vptq` CLI
//                                       (stories260K, v8 K256 Kr256, few iterations) for the loader's examples
// so an example that writes a file (e.g. `vptq`'s quantize) leaves it for the next example of its package.
//
// GPU: a block needs a WebGPU adapter when it imports `webgpu` or `vptq/node`, or uses a gpu-context value. As
// in scripts/test.sh, software Vulkan (Mesa lavapipe) comes from $VPTQ_SHARED/gpu/lavapipe.sh unless
// VK_DRIVER_FILES is set. Without an adapter such blocks are reported as skipped (still type-checked), except
// when CI is set: then they fail, as the GPU tests do.
//
// Options: --no-build (use the dist/ already built), --keep (leave the temp folder and print its path),
// --verbose (print every example's output), PACKAGE... (only these packages' examples, e.g. `@vptq/loader vptq`;
// everything is still packed and installed).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(process.env.VPTQ_SHARED ?? join(root, '..', 'shared'));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const only = args.filter((arg) => !arg.startsWith('--'));
const exampleTimeoutMs = 10 * 60_000;
const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (line) => console.log(`test:pack: ${line}`);

class StepError extends Error {}

/** Runs a command; throws with its output when it fails. Returns its stdout. */
function sh(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  if (result.error) throw new StepError(`${command} ${commandArgs.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new StepError(`${command} ${commandArgs.join(' ')} (in ${options.cwd ?? process.cwd()}) exited with ${result.status}\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
  return result.stdout ?? '';
}

/**
 * The environment for npm and the examples: pnpm's `npm_*`/`pnpm_*` script variables removed (npm would read
 * pnpm's settings, e.g. its rc file as npm's global config), except the registry, CA and proxy settings.
 */
function cleanEnv(extra = {}) {
  const keep = /^npm_config_(registry|cafile|ca|strict_ssl|https?_proxy|proxy|noproxy|no_proxy)$/i;
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) && !keep.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Software Vulkan (lavapipe) as scripts/test.sh sets it up: the variables `eval "$(bash lavapipe.sh)"` exports. */
function gpuEnv() {
  const script = join(shared, 'gpu', 'lavapipe.sh');
  if (process.env.VK_DRIVER_FILES || !existsSync(script)) return {};
  const result = spawnSync('bash', ['-c', 'eval "$(bash "$1")" && env -0', 'lavapipe', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) {
    log('software Vulkan setup failed; GPU examples will skip (or fail under CI)');
    return {};
  }
  const env = {};
  for (const entry of result.stdout.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0 && ['VK_DRIVER_FILES', 'LD_LIBRARY_PATH', 'XDG_RUNTIME_DIR'].includes(entry.slice(0, at))) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

// ---- the packages -------------------------------------------------------------------------------------------

const packages = readdirSync(join(root, 'packages'))
  .map((folder) => ({ folder, dir: join(root, 'packages', folder) }))
  .filter(({ dir }) => existsSync(join(dir, 'package.json')))
  .map((pkg) => ({ ...pkg, json: JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) }))
  .filter(({ json }) => !json.private);
const versions = new Map(packages.map(({ json }) => [json.name, json.version]));
for (const name of only) if (!versions.has(name)) throw new Error(`test:pack: no public package named ${name} (have ${[...versions.keys()].join(', ')})`);

// ---- the examples -------------------------------------------------------------------------------------------

const contextFiles = { './context.js': 'context.ts', './gpu-context.js': 'gpu-context.ts', './http-context.js': 'http-context.ts' };
/** Exported name → the module that exports it, from the context sources. */
const contextNames = new Map();
for (const [specifier, file] of Object.entries(contextFiles)) {
  const text = readFileSync(join(root, 'scripts', 'test-pack', file), 'utf8');
  for (const match of text.matchAll(/^export (?:const|let|(?:async )?function) (?:\{ *(\w+) *\}|(\w+))/gm)) contextNames.set(match[1] ?? match[2], specifier);
}

/** Every `ts`/`js` block of a README, with its marker applied. */
function extractExamples(pkg) {
  const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const examples = [];
  const problems = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^\s*<!--\s*test:pack\b(.*?)-->\s*$/.exec(lines[i]);
    if (marker && !/^```(ts|js)\s*$/.test(lines[i + 1] ?? '')) problems.push(`line ${i + 1}: a test:pack marker must be right before a \`\`\`ts or \`\`\`js fence`);
    const fence = /^```(\S*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end === lines.length) problems.push(`line ${start + 1}: the code fence is not closed`);
    i = end;
    if (fence[1] !== 'ts' && fence[1] !== 'js') continue;
    const example = { pkg, line: start + 1, lang: fence[1], code: lines.slice(start + 1, end).join('\n'), uses: [], replaces: [], browser: false };
    const directives = /^\s*<!--\s*test:pack\b(.*?)-->\s*$/.exec(lines[start - 1] ?? '')?.[1] ?? '';
    for (const directive of directives.split(';').map((text) => text.trim()).filter(Boolean)) {
      const [, key, value] = /^(\w+)\s*:\s*(.*)$/.exec(directive) ?? [];
      if (directive === 'browser') {
        example.browser = true;
      } else if (key === 'uses') {
        for (const name of value.split(',').map((text) => text.trim())) {
          if (!contextNames.has(name)) problems.push(`line ${start}: uses ${name}, which no context exports (${[...contextNames.keys()].join(', ')})`);
          example.uses.push(name);
        }
      } else if (key === 'replace' && value.includes('=>')) {
        const [from, to] = value.split('=>').map((text) => text.trim());
        if (!example.code.includes(from)) problems.push(`line ${start}: replace: the block does not contain ${JSON.stringify(from)}`);
        example.code = example.code.split(from).join(to);
        example.replaces.push(`${from} => ${to}`);
      } else {
        problems.push(`line ${start}: unknown test:pack directive ${JSON.stringify(directive)} (uses: a, b; replace: FROM => TO; browser)`);
      }
    }
    examples.push(example);
  }
  return { examples, problems };
}

/** The file an example becomes: the block, plus the import of its context values (and their release). */
function exampleSource(example) {
  const bySpecifier = new Map();
  for (const name of example.uses) {
    const specifier = contextNames.get(name);
    bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), name]);
  }
  const gpu = bySpecifier.has('./gpu-context.js');
  if (gpu) bySpecifier.get('./gpu-context.js').push('releaseContext as __releaseContext');
  const header = [...bySpecifier].map(([specifier, names]) => `import { ${names.join(', ')} } from '${specifier}';`);
  const footer = gpu ? ['await __releaseContext();'] : [];
  return { text: [...header, example.code, ...footer, ''].join('\n'), headerLines: header.length };
}

const needsGpu = (example) =>
  /from\s+['"](webgpu|vptq\/node)['"]/.test(example.code) || example.uses.some((name) => contextNames.get(name) === './gpu-context.js');

// ---- main ---------------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'vptq-test-pack-'));
if (`${realpathSync(work)}${sep}`.startsWith(`${realpathSync(root)}${sep}`)) throw new Error(`test:pack: ${work} is inside the repository`);
const tarballs = join(work, 'tarballs');
const scratch = join(work, 'scratch');
const results = [];
let setupError;

try {
  // 1. Build.
  if (!flag('--no-build')) {
    log('building (turbo run build)');
    sh('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  }

  // 2. Pack, and check what pnpm wrote into each tarball's package.json.
  mkdirSync(tarballs);
  const files = new Map();
  for (const { dir, json } of packages) {
    sh('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
    const file = join(tarballs, `${json.name.replace(/^@/, '').replace('/', '-')}-${json.version}.tgz`);
    if (!existsSync(file)) throw new StepError(`pnpm pack of ${json.name} did not write ${file}`);
    const packed = JSON.parse(sh('tar', ['-xzOf', file, 'package/package.json']));
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
      for (const [name, range] of Object.entries(packed[field] ?? {})) {
        if (range.startsWith('workspace:')) throw new StepError(`${json.name}: the tarball's ${field} keeps ${name}@${range}`);
        if (field !== 'devDependencies' && versions.has(name) && range !== versions.get(name) && range !== `^${versions.get(name)}`) {
          throw new StepError(`${json.name}: the tarball's ${field} has ${name}@${range}, not the workspace version ${versions.get(name)}`);
        }
        if (field !== 'devDependencies' && name.startsWith('@vptq/') && !versions.has(name)) {
          throw new StepError(`${json.name}: the tarball's ${field} names ${name}, which is not a public package of this workspace`);
        }
      }
    }
    files.set(json.name, file);
  }
  log(`packed ${files.size} packages into ${tarballs}`);

  // 3. The scratch project: every tarball, the optional peer `webgpu`, and TypeScript for the type check.
  //    `overrides` pins every (also transitive) dependency on a workspace package to its tarball: npm must never
  //    fetch a @vptq package from the registry (checked below in package-lock.json).
  const rootJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const vptqJson = packages.find(({ json }) => json.name === 'vptq')?.json;
  const dependencies = Object.fromEntries([...files].map(([name, file]) => [name, `file:${relative(scratch, file)}`]));
  if (vptqJson?.peerDependencies?.webgpu) dependencies.webgpu = vptqJson.peerDependencies.webgpu;
  mkdirSync(join(scratch, 'examples'), { recursive: true });
  mkdirSync(join(scratch, 'examples-browser'), { recursive: true });
  writeFileSync(
    join(scratch, 'package.json'),
    `${JSON.stringify(
      {
        name: 'vptq-test-pack-scratch',
        version: '0.0.0',
        private: true,
        type: 'module',
        dependencies,
        devDependencies: { typescript: rootJson.devDependencies.typescript, '@types/node': rootJson.devDependencies['@types/node'] },
        overrides: Object.fromEntries([...files.keys()].map((name) => [name, `$${name}`])),
      },
      null,
      2,
    )}\n`,
  );
  log(`npm install in ${scratch}`);
  const installStarted = Date.now();
  sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: scratch, env: cleanEnv() });
  const lock = JSON.parse(readFileSync(join(scratch, 'package-lock.json'), 'utf8'));
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!path || !files.has(name)) continue;
    const expected = `file:${relative(scratch, files.get(name))}`;
    if (path !== `node_modules/${name}` || entry.resolved !== expected) {
      throw new StepError(`npm resolved ${name} at ${path} to ${entry.resolved ?? entry.version}, not to its tarball ${expected}`);
    }
  }
  for (const name of files.keys()) {
    if (!lock.packages[`node_modules/${name}`]) throw new StepError(`npm did not install ${name}`);
  }
  sh('npm', ['ls', '--all'], { cwd: scratch, env: cleanEnv() }); // fails on a missing or invalid dependency
  log(`installed in ${seconds(Date.now() - installStarted)}; every @vptq package and vptq resolve to their tarballs (package-lock.json)`);

  // 4. The examples, the contexts and the type check (which also emits the JavaScript that runs).
  const chosen = packages.filter(({ json }) => only.length === 0 || only.includes(json.name));
  const extracted = chosen.map((pkg) => ({ pkg, ...extractExamples(pkg) }));
  const problems = extracted.flatMap(({ pkg, problems: list }) => list.map((problem) => `${pkg.json.name} README.md ${problem}`));
  if (problems.length > 0) throw new StepError(`README markers:\n${problems.join('\n')}`);
  const examples = extracted.flatMap(({ examples: list }) => list);
  for (const example of examples) {
    example.file = `${example.pkg.folder}-L${example.line}`;
    const { text, headerLines } = exampleSource(example);
    example.headerLines = headerLines;
    writeFileSync(join(scratch, example.browser ? 'examples-browser' : 'examples', `${example.file}.${example.lang}`), text);
    example.typeErrors = [];
  }
  for (const file of Object.values(contextFiles)) copyFileSync(join(root, 'scripts', 'test-pack', file), join(scratch, 'examples', file));
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: ['node'],
          strict: true,
          allowJs: true,
          rootDir: 'examples',
          outDir: 'out',
          noEmitOnError: false,
          // As in the workspace: @webgpu/types (which the packages' .d.ts reference) needs the DOM lib to check on
          // its own, and clashes with TypeScript's DOM lib, which has its own WebGPU types.
          skipLibCheck: true,
        },
        include: ['examples'],
      },
      null,
      2,
    )}\n`,
  );
  // Browser blocks: their own program, with the DOM lib and a bundler's resolution; type-checked only.
  const browserExamples = examples.filter((example) => example.browser);
  writeFileSync(
    join(scratch, 'tsconfig.browser.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          module: 'ESNext',
          moduleResolution: 'Bundler',
          types: [],
          strict: true,
          allowJs: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['examples-browser'],
      },
      null,
      2,
    )}\n`,
  );
  log(`type-checking ${examples.length} examples (tsc, strict, against the installed packages' .d.ts; ${browserExamples.length} browser block(s) with the DOM lib)`);
  const tscBin = join(scratch, 'node_modules', 'typescript', 'bin', 'tsc');
  const tsc = spawnSync(process.execPath, [tscBin, '-p', '.', '--pretty', 'false'], { cwd: scratch, encoding: 'utf8' });
  const tscBrowser =
    browserExamples.length > 0 ? spawnSync(process.execPath, [tscBin, '-p', 'tsconfig.browser.json', '--pretty', 'false'], { cwd: scratch, encoding: 'utf8' }) : { stdout: '', stderr: '', status: 0 };
  const otherTypeErrors = [];
  let lastErrors = otherTypeErrors; // where an indented continuation line of a message goes
  for (const line of `${tsc.stdout}${tsc.stderr}${tscBrowser.stdout}${tscBrowser.stderr}`.split('\n').filter(Boolean)) {
    const match = /^examples(?:-browser)?\/([\w.-]+)\.(?:ts|js)\((\d+),(\d+)\): (.*)$/.exec(line);
    const example = match && examples.find((candidate) => candidate.file === match[1]);
    if (example) {
      const readmeLine = example.line + Number(match[2]) - example.headerLines;
      example.typeErrors.push(`README.md:${readmeLine}:${match[3]} ${match[4]}`);
      lastErrors = example.typeErrors;
    } else if (/^\s/.test(line) && lastErrors.length > 0) {
      lastErrors[lastErrors.length - 1] += `\n    ${line}`;
    } else {
      otherTypeErrors.push(line);
      lastErrors = otherTypeErrors;
    }
  }
  if (otherTypeErrors.length > 0) throw new StepError(`tsc reported errors outside the examples (contexts, installed .d.ts):\n${otherTypeErrors.join('\n')}`);
  if (tsc.status !== 0 && !examples.some((example) => example.typeErrors.length > 0)) throw new StepError(`tsc exited with ${tsc.status}\n${tsc.stdout}${tsc.stderr}`);
  if (tscBrowser.status !== 0 && !browserExamples.some((example) => example.typeErrors.length > 0)) {
    throw new StepError(`tsc (browser blocks) exited with ${tscBrowser.status}\n${tscBrowser.stdout}${tscBrowser.stderr}`);
  }

  // 5. The files the examples name, the GPU probe, then each package's examples in README order.
  const fixtures = {
    'stories260K.bin': join(root, 'examples', 'stories260K', 'stories260K.bin'),
    'tok512.bin': join(root, 'examples', 'stories260K', 'tok512.bin'),
    'tinystories.txt': join(root, 'examples', 'stories260K', 'calibration.txt'),
    'tinystories_sample.txt': join(shared, 'fixtures', 'tinystories-cs336-sample', 'tinystories_sample.txt'),
    'valid.txt': join(shared, 'fixtures', 'tinystories-cs336-sample', 'tinystories_sample.txt'),
  };
  for (const [name, file] of Object.entries(fixtures)) {
    if (!existsSync(file)) throw new StepError(`fixture ${name}: ${file} is missing (set VPTQ_SHARED to the shared folder)`);
  }
  const fixtureDir = join(work, 'fixtures');
  mkdirSync(fixtureDir);
  for (const [name, file] of Object.entries(fixtures)) copyFileSync(file, join(fixtureDir, name));
  log('quantizing the packed fixture stories260K-v8-k256-256 with the installed vptq CLI');
  sh(
    process.execPath,
    [join(scratch, 'node_modules', 'vptq', 'dist', 'cli.js'), 'quantize', '-m', 'stories260K.bin', '--calib', 'tinystories_sample.txt', '-o', 'stories260K-v8-k256-256',
      '--device', 'cpu', '--kmeans-iterations', '4', '--refine-iterations', '0'],
    { cwd: fixtureDir, env: cleanEnv() },
  );

  const runEnv = cleanEnv(gpuEnv());
  let gpu = { available: false, reason: '' };
  if (examples.some(needsGpu)) {
    const probe = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import { create } from 'webgpu'; const a = await create([]).requestAdapter(); console.log(a ? `${a.info.vendor} ${a.info.architecture} ${a.info.device} ${a.info.description}`.trim() : ''); process.exit(0);"],
      { cwd: scratch, env: runEnv, encoding: 'utf8', timeout: 120_000 },
    );
    const name = probe.status === 0 ? probe.stdout.trim().split('\n').at(-1) : '';
    gpu = name ? { available: true, reason: name } : { available: false, reason: `no WebGPU adapter${probe.status === 0 ? '' : ` (probe failed: ${(probe.stderr || probe.error?.message || '').trim().split('\n').at(-1)})`}` };
    log(gpu.available ? `WebGPU adapter: ${gpu.reason}` : `${gpu.reason}: GPU examples ${process.env.CI ? 'fail (CI is set)' : 'skip'}`);
  }

  for (const { pkg } of extracted) {
    const runDir = join(scratch, 'run', pkg.folder);
    cpSync(fixtureDir, runDir, { recursive: true });
    for (const example of examples.filter((candidate) => candidate.pkg === pkg)) {
      const result = { example, typecheck: example.typeErrors.length === 0 ? 'ok' : `${example.typeErrors.length} error(s)`, run: '', ms: 0, output: '' };
      results.push(result);
      if (example.browser) {
        result.run = 'browser';
        result.note = 'browser: type-checked; runs in pnpm test:browser';
      } else if (needsGpu(example) && !gpu.available) {
        result.run = process.env.CI ? 'FAIL' : 'skipped';
        result.note = process.env.CI ? `${gpu.reason} (CI is set)` : gpu.reason;
      } else {
        const runStarted = Date.now();
        const run = spawnSync(process.execPath, [join(scratch, 'out', `${example.file}.js`)], { cwd: runDir, env: runEnv, encoding: 'utf8', timeout: exampleTimeoutMs, maxBuffer: 64 << 20 });
        result.ms = Date.now() - runStarted;
        result.output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
        result.run = run.status === 0 ? 'ok' : 'FAIL';
        if (run.error) result.note = run.error.code === 'ETIMEDOUT' ? `timed out after ${seconds(exampleTimeoutMs)}` : run.error.message;
        else if (run.status !== 0) result.note = run.signal ? `killed by ${run.signal}` : `exit code ${run.status}`;
      }
      result.passed = result.typecheck === 'ok' && (result.run === 'ok' || result.run === 'browser');
      result.failed = result.typecheck !== 'ok' || result.run === 'FAIL';
      const label = `${pkg.json.name} README.md:${example.line}`;
      log(`${result.failed ? 'FAIL' : result.passed ? 'ok  ' : 'skip'} ${label}${result.ms ? ` (${seconds(result.ms)})` : ''}`);
      const showOutput = flag('--verbose') || (result.run === 'FAIL' && result.output);
      if (example.typeErrors.length > 0) console.log(example.typeErrors.map((error) => `    ${error}`).join('\n'));
      if (showOutput) {
        const outputLines = result.output.trimEnd().split('\n');
        const shown = flag('--verbose') ? outputLines : outputLines.slice(-40);
        console.log(shown.map((line) => `    | ${line}`).join('\n'));
      }
    }
  }
} catch (error) {
  if (!(error instanceof StepError)) throw error;
  setupError = error.message;
} finally {
  if (flag('--keep')) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

// ---- summary ------------------------------------------------------------------------------------------------

if (results.length > 0) {
  const rows = results.map(({ example, typecheck, run, ms, note }) => [
    example.pkg.json.name,
    `README.md:${example.line}${example.uses.length > 0 ? ' (fragment)' : ''}`,
    typecheck,
    run,
    ms ? seconds(ms) : '',
    [note, example.replaces.length > 0 ? `replaced ${example.replaces.join(', ')}` : ''].filter(Boolean).join('; '),
  ]);
  const head = ['package', 'example', 'typecheck', 'run', 'time', 'note'];
  const widths = head.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  console.log('');
  console.log(format(head));
  console.log(format(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(format(row));
  console.log('');
  const perPackage = new Map();
  for (const result of results) {
    const counts = perPackage.get(result.example.pkg.json.name) ?? { passed: 0, failed: 0, skipped: 0 };
    counts[result.failed ? 'failed' : result.passed ? 'passed' : 'skipped']++;
    perPackage.set(result.example.pkg.json.name, counts);
  }
  for (const [name, counts] of perPackage) console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
}
if (setupError) console.log(`\ntest:pack: ${setupError}`);
const passed = results.filter((result) => result.passed).length;
const failed = results.filter((result) => result.failed).length + (setupError ? 1 : 0);
const skipped = results.length - passed - results.filter((result) => result.failed).length;
console.log(`test:pack: ${packages.length} packages packed and installed from their tarballs, ${results.length} README example(s), ${seconds(Date.now() - started)}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
