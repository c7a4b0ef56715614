#!/usr/bin/env node
// Fails when an entry a browser app may import reaches Node-only code. Every published entry of every package
// (`.` and each subpath of its exports map) counts as browser-safe except `./node`, where each package keeps what
// needs Node (files by path, Dawn, directories written). Each such entry is bundled the way a browser app's
// bundler would (esbuild, platform browser, from the package's src/; sibling packages through their built dist),
// and the check reports, with the chain of imports that reaches it from the entry:
//  - an import of a Node built-in (`node:fs`, `path`, `worker_threads`, `module` for createRequire, …),
//  - any other import that does not resolve for a browser,
//  - a Node-only global used in reachable code (`process`, `Buffer`, `__dirname`, `__filename`, `global`,
//    `setImmediate`, `clearImmediate`, and `require` outside CommonJS modules), unless only under `typeof`.
// Sibling packages are read from dist/, so build first (`pnpm check:browser` does). Prints one block per problem,
// then one summary line; exit 1 when there is a problem.
import { existsSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';

import { listEntries, listPublicPackages, root } from './public-packages.mjs';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const ts = require('typescript');

const rel = (file) => relative(root, file).split(sep).join('/');
const nodeOnlyEntry = './node';
const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
const nodeGlobals = new Set(['process', 'Buffer', '__dirname', '__filename', 'global', 'setImmediate', 'clearImmediate', 'require']);

const packages = listPublicPackages();

/** The browser-safe entries of a package: `.` → src/index.ts, `./x` → src/x.ts (as check-entries reads them). */
function browserEntries({ dir, json }) {
  return listEntries({ dir, json }).filter(({ key }) => key !== nodeOnlyEntry);
}

// Built-ins stay external so the bundle completes and every one of them is found; they are reported from the
// metafile, where esbuild records each import with the file that made it.
const keepBuiltinsExternal = {
  name: 'keep-builtins-external',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (builtins.has(args.path) ? { path: args.path, external: true } : undefined));
  },
};

async function bundle(entryFile) {
  try {
    const result = await esbuild.build({
      entryPoints: [entryFile],
      absWorkingDir: root,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [keepBuiltinsExternal],
    });
    return { metafile: result.metafile, errors: [] };
  } catch (failure) {
    if (!Array.isArray(failure.errors)) throw failure;
    return { metafile: undefined, errors: failure.errors };
  }
}

/** Breadth-first parents from the entry through the metafile's import graph, for shortest chains. */
function parentsFrom(metafile, entryInput) {
  const parents = new Map([[entryInput, undefined]]);
  const queue = [entryInput];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const { path, external } of metafile.inputs[file]?.imports ?? []) {
      if (external || parents.has(path)) continue;
      parents.set(path, file);
      queue.push(path);
    }
  }
  return parents;
}

function chainTo(parents, file) {
  const chain = [];
  for (let at = file; at !== undefined; at = parents.get(at)) chain.unshift(at);
  return chain.join(' → ');
}

/** Node-only globals used in `files` (relative to root), found by scope: a name no declaration in reach binds. */
function findNodeGlobals(files) {
  const absolute = files.map((file) => join(root, file)).filter((file) => /\.[cm]?[jt]sx?$/.test(file));
  const program = ts.createProgram(absolute, {
    allowJs: true,
    checkJs: false,
    noEmit: true,
    noResolve: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
  });
  const checker = program.getTypeChecker();
  const found = [];
  for (const file of absolute) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    const commonJs = !source.externalModuleIndicator && /\b(module\.exports|exports\.\w+\s*=|require\s*\()/.test(source.text);
    const visit = (node) => {
      if (ts.isTypeNode(node) || ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
      if (ts.isIdentifier(node) && nodeGlobals.has(node.text) && !(commonJs && node.text === 'require') && isFreeReference(node)) {
        if (checker.getSymbolAtLocation(node) === undefined) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          found.push({ file: rel(file), line: line + 1, name: node.text });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** An identifier read as a variable: not a property name, a declaration's name or the operand of `typeof`. */
function isFreeReference(node) {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) && parent.name === node) return false;
  if (ts.isTypeOfExpression(parent)) return false;
  if ((ts.isVariableDeclaration(parent) || ts.isParameter(parent) || ts.isFunctionDeclaration(parent) || ts.isBindingElement(parent)) && parent.name === node) return false;
  return true;
}

const problems = [];
const entries = packages.flatMap((pkg) =>
  browserEntries(pkg).map(({ key, file }) => ({ pkg, file, label: `${pkg.json.name}${key === '.' ? '' : key.slice(1)}` })),
);
for (const { label, file } of entries) {
  if (!existsSync(file)) problems.push(`${label}: ${rel(file)} is listed in the exports map but does not exist`);
}
const bundled = await Promise.all(
  entries
    .filter(({ file }) => existsSync(file))
    .map(async ({ pkg, file, label }) => {
      const { metafile, errors } = await bundle(file);
      for (const error of errors) {
        const where = error.location ? `${error.location.file}:${error.location.line}` : '(no location)';
        problems.push(`${label}: ${error.text} (${where}); fix the import, or move the code behind ${pkg.json.name}/node`);
      }
      return { label, pkg, metafile, parents: metafile ? parentsFrom(metafile, rel(file)) : new Map() };
    }),
);

// One scope analysis over every reachable file, then each entry's share of it.
const reachable = new Set(bundled.flatMap(({ parents }) => [...parents.keys()]));
const globalUses = findNodeGlobals([...reachable]);
for (const { label, pkg, metafile, parents } of bundled) {
  if (!metafile) continue;
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (!parents.has(input)) continue;
    for (const imported of imports) {
      if (!imported.external || !builtins.has(imported.path)) continue;
      problems.push(`${label}: imports the Node built-in '${imported.path}' through ${chainTo(parents, input)}; move it behind ${pkg.json.name}/node or a ByteSource`);
    }
  }
  for (const use of globalUses) {
    if (parents.has(use.file)) problems.push(`${label}: uses the Node global ${use.name} at ${use.file}:${use.line}, reached through ${chainTo(parents, use.file)}`);
  }
}
const checked = bundled.length;

for (const problem of problems) console.log(problem);
console.log(
  `check-browser-entries: ${checked} entries of ${packages.length} packages bundled for the browser (every entry but ${nodeOnlyEntry})` +
    (problems.length > 0 ? ` — ${problems.length} problem(s)` : ': no Node built-in or Node-only global is reachable'),
);
process.exitCode = problems.length > 0 ? 1 : 0;
