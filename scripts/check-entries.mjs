#!/usr/bin/env node
// Counts the names each published entry of each package exports (values and types), and fails when
//  - a package's main entry exports more than `mainEntryLimit` names: a main entry holds what its users call;
//    shader text, CPU twins and benchmark code go behind subpath entries (conventions: "about 40 names at most"),
//  - or its README does not state the counts it has: "Main entry: N names." and, per subpath, "`./sub`: N names"
//    (or "`pkg/sub`: N names"), so the number a reader sees is the number the code has.
// Reads src/ only (entry `./x` is built from src/x.ts, `.` from src/index.ts); no build needed.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

import { listEntries, listPublicPackages, root } from './public-packages.mjs';

const ts = createRequire(import.meta.url)('typescript');
const mainEntryLimit = 48;

const packages = listPublicPackages();

const files = packages.flatMap((pkg) => listEntries(pkg).map((entry) => entry.file));
const program = ts.createProgram(files, {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  target: ts.ScriptTarget.ES2022,
  skipLibCheck: true,
  noEmit: true,
  types: [],
});
const checker = program.getTypeChecker();
const countNames = (file) => {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`check-entries: ${relative(root, file)} is listed in an exports map but does not exist`);
  const symbol = checker.getSymbolAtLocation(source);
  return symbol ? checker.getExportsOfModule(symbol).length : 0;
};

const problems = [];
const rows = [];
for (const pkg of packages) {
  const readmePath = join(pkg.dir, 'README.md');
  const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
  for (const { key, file } of listEntries(pkg)) {
    const count = countNames(file);
    rows.push(`${pkg.json.name}${key === '.' ? '' : key.slice(1)}: ${count}`);
    if (key === '.' && count > mainEntryLimit) {
      problems.push(`${pkg.json.name}: the main entry exports ${count} names (at most ${mainEntryLimit}); move what users do not call behind a subpath entry or make it internal`);
    }
    const stated =
      key === '.'
        ? new RegExp(`Main entry: ${count} names\\b`)
        : new RegExp(`\`(?:${escape(key)}|${escape(pkg.json.name + key.slice(1))})\`: ${count} names\\b`);
    if (!stated.test(readme)) {
      const wanted = key === '.' ? `Main entry: ${count} names.` : `\`${key}\`: ${count} names`;
      problems.push(`${pkg.json.name}: README.md must state "${wanted}" (the entry ${key} exports ${count} names)`);
    }
  }
}

for (const problem of problems) console.log(problem);
console.log(`check-entries: ${rows.join(', ')}${problems.length > 0 ? ` — ${problems.length} problem(s)` : ''}`);
process.exitCode = problems.length > 0 ? 1 : 0;

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
