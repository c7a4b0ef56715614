import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI the tests run as a child process. */
const cli = resolve(fileURLToPath(import.meta.url), '../../../dist/cli.js');

/**
 * Every file of `dir` by name, for byte comparisons of output directories. The quantization report's `timing`
 * (wall-clock seconds, and which layers a run resumed) is left out of it: everything else must be the same bytes.
 */
export function readTree(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const name of readdirSync(dir).sort()) {
    files[name] = readFileSync(join(dir, name));
    if (name === 'quantization-report.json') {
      const { timing: _timing, ...report } = JSON.parse(files[name].toString('utf8')) as { timing: unknown };
      files[name] = Buffer.from(JSON.stringify(report));
    }
  }
  return files;
}

/** Runs `vptq quantize … -o out` plus `flags` to the end; resolves with the exit code. */
export function runQuantizeCli(out: string, flags: readonly string[]): Promise<number | null> {
  return new Promise((done) => spawn(process.execPath, [cli, 'quantize', '-o', out, ...flags], { stdio: 'ignore' }).on('exit', done));
}

/** Starts `vptq quantize … -o out`, SIGKILLs it as soon as layer 1's checkpoint exists, and waits for it to exit. */
export async function killQuantizeCliAfterLayer1(out: string, flags: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [cli, 'quantize', '-o', out, ...flags], { stdio: 'ignore' });
  const exited = new Promise((done) => child.on('exit', done));
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      if (existsSync(join(`${out}.partial`, 'layer-0001.safetensors'))) {
        clearInterval(timer);
        child.kill('SIGKILL');
        done();
      }
    }, 5);
  });
  await exited;
}
