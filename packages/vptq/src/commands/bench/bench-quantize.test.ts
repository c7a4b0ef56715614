import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const cli = resolve(fileURLToPath(import.meta.url), '../../../../dist/cli.js');
const examples = resolve(fileURLToPath(import.meta.url), '../../../../../../examples/stories260K');

/** Runs the built CLI to its end. */
function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('exit', (code) => done({ code, stdout: Buffer.concat(out).toString('utf8') }));
  });
}

interface BenchJson {
  readonly layers: readonly ({ readonly layer: number; readonly quantize: number } & Record<string, number>)[];
  readonly projections: readonly ({ readonly name: string; readonly kmeansIterations: string; readonly refinementRounds: number } & Record<string, unknown>)[];
}

describe('vptq bench quantize', () => {
  it('breaks every projection down by quantizer phase, inside its layer’s quantize phase', async () => {
    const run = await runCli([
      'bench', 'quantize', '-m', join(examples, 'stories260K.bin'), '-t', join(examples, 'tok512.bin'),
      '--calib', join(examples, 'calibration.txt'), '--repeats', '1', '--calib-tokens', '2048',
      '--kmeans-iterations', '2', '--refine-iterations', '1', '--device', 'cpu', '--json',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('per projection, seconds by quantizer phase');
    const json = JSON.parse(run.stdout.split('\n').filter((line) => line.startsWith('{"seconds"')).at(-1) as string) as BenchJson;
    // 5 layers × 7 projections, in model order.
    expect(json.projections).toHaveLength(35);
    expect(json.projections[0].name).toBe('model.layers.0.self_attn.q_proj');
    expect(json.projections[34].name).toBe('model.layers.4.mlp.down_proj');
    for (const projection of json.projections) {
      // v8-k256-r256 (the default): a main and a residual k-means of at most 2 iterations each, at most one round.
      expect(projection.kmeansIterations).toMatch(/^[12]\+[12]$/);
      expect(projection.refinementRounds).toBeLessThanOrEqual(1);
      for (const phase of ['setup', 'kmeans', 'column-loop', 'residual-kmeans', 'column-loop-2']) expect(projection[phase]).toBeGreaterThan(0);
    }
    // The projection clocks run inside their layer's "quantize" phase.
    const seconds = (projection: BenchJson['projections'][number]) =>
      Object.entries(projection)
        .filter(([key]) => !['name', 'kmeansIterations', 'refinementRounds'].includes(key))
        .reduce((total, [, value]) => total + (value as number), 0);
    for (const layer of json.layers) {
      const inside = json.projections
        .filter((projection) => projection.name.startsWith(`model.layers.${layer.layer}.`))
        .reduce((sum, projection) => sum + seconds(projection), 0);
      expect(inside).toBeLessThanOrEqual(layer.quantize + 1e-3);
      expect(inside).toBeGreaterThan(0.5 * layer.quantize);
    }
  }, 120_000);
});
