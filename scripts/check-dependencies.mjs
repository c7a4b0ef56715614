#!/usr/bin/env node
// Fails when a workspace package uses a package it does not declare:
//  1. src: every bare import of a published source file (one reachable from the package's exports/bin) must be
//     in `dependencies` or `peerDependencies`; test-only files may also use `devDependencies` and the root's.
//     `import type` / `export type` are reported separately: erased from the JS, but they can land in the .d.ts.
//  2. dist: tsup externalizes only `dependencies`/`peerDependencies` and bundles everything else, so an
//     undeclared import becomes a copy of someone else's code. The source maps list what each dist/*.js was
//     built from; anything outside the package's own src/ is inlined. The bare imports left in dist/*.js and
//     dist/*.d.ts must be declared as well.
// Private apps (apps/*) get part 1 only: their dist is a browser bundle. Part 2 reads dist/, so build first (`pnpm check:dependencies` does). Prints one line per violation, exit 1.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// require, not import: an ESM import of typescript.js (9 MB of CommonJS) first scans it for named exports,
// which costs half a second.
const ts = createRequire(import.meta.url)('typescript');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const rel = (file) => relative(root, file).split(sep).join('/');
const rootDevDependencies = new Set(Object.keys(readJson(join(root, 'package.json')).devDependencies ?? {}));
const builtins = new Set(builtinModules);

// Workspace package directories: the `- 'dir/*'` lines of pnpm-workspace.yaml.
const workspaceDirs = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
  .split('\n')
  .map((line) => /^\s*-\s*['"]?([^'"#\s]+)['"]?/.exec(line)?.[1])
  .filter(Boolean)
  .flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [join(root, pattern)];
    const parent = join(root, pattern.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).map((name) => join(parent, name)) : [];
  })
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .sort();
const packages = workspaceDirs.map((dir) => ({ dir, json: readJson(join(dir, 'package.json')) }));

function walk(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path, keep);
    return keep(entry.name) ? [path] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative, builtin and `#` imports. */
function packageOf(specifier) {
  if (/^[./#]/.test(specifier) || specifier.startsWith('node:') || builtins.has(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The module specifiers of one file with their line and whether they are type-only. Only `import type` and
 * `export type` count as type-only: tsconfig.base.json sets verbatimModuleSyntax, under which
 * `import { type A } from 'x'` still emits `import 'x'` (esbuild does the same).
 */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found = [];
  const add = (node, specifier, typeOnly) =>
    found.push({ specifier, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  // `/// <reference types="x" />` (tsup adds one to kernels-webgpu's d.ts).
  for (const ref of source.typeReferenceDirectives) {
    found.push({ specifier: ref.fileName, typeOnly: true, line: source.getLineAndCharacterOfPosition(ref.pos).line + 1 });
  }
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text, ts.isImportDeclaration(node) ? !!node.importClause?.isTypeOnly : node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      // import('x') and require('x') (from createRequire).
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        add(node, node.arguments[0].text, false);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true); // typeof import('x'), import('x').T
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The module specifiers of a built file (any kind: import/export from, import(), require(), import('x').T,
 * `/// <reference types>`). TypeScript's import scanner: five times faster than a full parse of the bundles,
 * and dist needs no type-only distinction.
 */
function distImportsOf(file) {
  const text = readFileSync(file, 'utf8');
  const { importedFiles, typeReferenceDirectives } = ts.preProcessFile(text, true, true);
  const lines = ts.computeLineStarts(text);
  return [...typeReferenceDirectives, ...importedFiles].map(({ fileName, pos }) => ({
    specifier: fileName,
    line: ts.computeLineAndCharacterOfPosition(lines, pos).line + 1,
  }));
}

/** The .ts file a relative specifier of `from` names (`./a.js`, `./a` and `./dir` all work with Bundler resolution). */
function resolveRelative(from, specifier) {
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, join(base, 'index.ts')];
  return candidates.find((candidate) => /\.[mc]?tsx?$/.test(candidate) && existsSync(candidate));
}

/** src files behind the package's entry points: `./dist/x.js` in exports/bin/main → `src/x.ts`, or a src path as is. */
function entrySources(dir, json) {
  const targets = [];
  const collect = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect(json.exports);
  collect(json.bin);
  collect(json.main);
  return targets.flatMap((target) => {
    const built = /^(?:\.\/)?dist\/(.+?)(?:\.d)?\.[mc]?[jt]s$/.exec(target);
    const file = built ? join(dir, 'src', `${built[1]}.ts`) : join(dir, target);
    return file.startsWith(join(dir, 'src') + sep) && existsSync(file) ? [file] : [];
  });
}

const violations = [];
const report = (json, message) => violations.push(`${json.name}: ${message}`);
let filesChecked = 0;

for (const { dir, json } of packages) {
  const published = new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]);
  const dev = new Set(Object.keys(json.devDependencies ?? {}));
  // `/// <reference types="node" />` needs @types/node; a package counts as declared under either name.
  const declaredIn = (set, name) => set.has(name) || (!name.startsWith('@') && set.has(`@types/${name}`));
  const expected = (name, why = '') =>
    `declare ${name} in dependencies of ${json.name}${why}` + (declaredIn(dev, name) ? ' (it is only a devDependency)' : '');

  // Part 1: source imports.
  const files = walk(join(dir, 'src'), (name) => /\.[mc]?tsx?$/.test(name));
  const imports = new Map(files.map((file) => [file, importsOf(file)]));
  filesChecked += files.length;
  // Published = reachable from an entry through relative imports (type-only ones too: they shape the d.ts).
  // Everything else (*.test.ts, *.fixture.ts, test-*.ts helpers) only runs under vitest. A package without
  // entries gets the name-based rule instead.
  const reachable = new Set();
  const pending = entrySources(dir, json);
  while (pending.length > 0) {
    const file = pending.pop();
    if (reachable.has(file) || !imports.has(file)) continue;
    reachable.add(file);
    for (const { specifier } of imports.get(file)) {
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (target) pending.push(target);
      }
    }
  }
  const isPublished = (file) =>
    reachable.size > 0 ? reachable.has(file) : !/(\.test|\.fixture)\.[mc]?tsx?$|(^|[/\\])test-[^/\\]*$/.test(file);

  for (const [file, found] of imports) {
    for (const { specifier, typeOnly, line } of found) {
      const name = packageOf(specifier);
      if (name === undefined) continue;
      const where = `${rel(file)}:${line} imports '${specifier}'`;
      if (isPublished(file)) {
        if (declaredIn(published, name)) continue;
        report(json, typeOnly ? `${where} (type-only: erased from the JS, but it can reach the published .d.ts) — ${expected(name)}` : `${where} — ${expected(name)}`);
      } else if (!declaredIn(published, name) && !declaredIn(dev, name) && !declaredIn(rootDevDependencies, name)) {
        report(json, `${where} (test-only file) — declare ${name} in devDependencies of ${json.name}`);
      }
    }
  }

  // Part 2: what the build produced. Packages without a build (tools/test-utils ships src/) have no dist. A private
  // app under apps/ builds a browser bundle, which inlines its dependencies by design: only its src is checked.
  if (!json.scripts?.build) continue;
  if (json.private && rel(dir).startsWith('apps/')) continue;
  const distDir = join(dir, 'dist');
  if (!existsSync(distDir)) {
    report(json, `${rel(distDir)} is missing — run \`pnpm build\` before this check`);
    continue;
  }
  for (const file of walk(distDir, (name) => /\.(m?js|d\.ts)$/.test(name))) {
    filesChecked++;
    for (const { specifier, line } of distImportsOf(file)) {
      const name = packageOf(specifier);
      if (name !== undefined && !declaredIn(published, name)) report(json, `${rel(file)}:${line} imports '${specifier}' — ${expected(name)}`);
    }
    if (file.endsWith('.d.ts')) continue;
    const mapFile = `${file}.map`;
    if (!existsSync(mapFile)) {
      report(json, `${rel(file)} has no source map, so inlined code cannot be detected — set sourcemap: true in tsup.config.ts`);
      continue;
    }
    const map = readJson(mapFile);
    // Group the inlined sources by the package they belong to: one line per (dist file, package).
    const inlined = new Map();
    for (const source of map.sources) {
      const path = resolve(dirname(mapFile), map.sourceRoot ?? '', source);
      if (path.startsWith(join(dir, 'src') + sep)) continue;
      const owner =
        packages.find((other) => path.startsWith(other.dir + sep))?.json.name ??
        /.*node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(path)?.[1].replace('\\', '/') ??
        '(outside any package)';
      inlined.set(owner, [...(inlined.get(owner) ?? []), rel(path)]);
    }
    for (const [owner, paths] of inlined) {
      const fix = owner === json.name ? 'import it from src/ instead' : owner.startsWith('(') ? 'move it into src/' : expected(owner, ' so tsup keeps it external');
      // esbuild chains the input's own source map, so this lists every file behind the inlined module, not
      // only those whose code survived tree-shaking.
      const shown = paths.length > 3 ? `${paths.slice(0, 3).join(', ')}, … ${paths.length - 3} more` : paths.join(', ');
      report(json, `${rel(file)} inlines code of ${owner} (source map lists ${paths.length}: ${shown}) — ${fix}`);
    }
  }
}

for (const line of violations) console.log(line);
if (violations.length > 0) {
  console.log(`check-dependencies: ${violations.length} violation(s) in ${packages.length} packages`);
  process.exit(1);
}
console.log(`check-dependencies: ${packages.length} packages, ${filesChecked} files: every import is declared, no dist inlines another package`);
