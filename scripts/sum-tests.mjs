// Sums vitest's JSON reports of every package into the plain closing line "N passed, N failed".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const group of ['packages', 'tools']) {
  for (const name of readdirSync(group)) {
    const packageJson = join(group, name, 'package.json');
    if (!existsSync(packageJson) || !JSON.parse(readFileSync(packageJson, 'utf8')).scripts?.test) continue;
    const file = join(group, name, 'test-results.json');
    if (!existsSync(file)) {
      missing.push(name);
      continue;
    }
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests;
    // A test file that fails to load (an import error, a missing GPU adapter under CI) runs no test: count it.
    const brokenFiles = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
    failed += report.numFailedTests + brokenFiles;
    skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    console.log(`${name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  }
}
if (missing.length > 0) console.log(`no test report from: ${missing.join(', ')}`);
console.log(`${passed} passed, ${failed + missing.length} failed, ${skipped} skipped`);
process.exit(failed + missing.length > 0 ? 1 : 0);
