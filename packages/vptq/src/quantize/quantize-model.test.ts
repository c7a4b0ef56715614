import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { openModel } from '@vptq/loader';
import type { VptqModelSource } from '@vptq/loader';
import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { quantize } from './quantize-model';
import type { QuantizeOptions } from './quantize-options';

const model = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const calibration = fixturePath('tinystories-train-head', 'tinystories.txt');
const cli = resolve(fileURLToPath(import.meta.url), '../../../dist/cli.js');

// Small but real: every layer of stories260K, a short calibration pass and few k-means iterations.
const fast: Omit<QuantizeOptions, 'out'> = {
  model,
  calibration,
  calibrationTokens: 3000,
  kmeansIterations: 8,
  refineIterations: 2,
  vectorLength: 4,
  numCentroids: 64,
  numResidualCentroids: 0,
};

function readTree(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const name of readdirSync(dir).sort()) files[name] = readFileSync(join(dir, name));
  return files;
}

describe('quantize', () => {
  it('writes a complete VPTQ directory that loads back with the configured layers', () => {
    const out = join(makeTempDir(), 'model');
    const result = quantize({ ...fast, out });
    expect(result.projections).toHaveLength(35);
    expect(result.indexBitsPerWeight).toBeCloseTo(Math.log2(64) / 4, 10);
    expect(result.totalBitsPerWeight).toBeGreaterThan(result.indexBitsPerWeight);
    expect(readdirSync(out).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.bin', 'tokenizer.json', 'tokenizer_config.json'],
    );
    expect(existsSync(`${out}.partial`)).toBe(false);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.quantization_config.quant_method).toBe('vptq');
    expect(config.quantization_config.config_for_layers['model.layers.0.self_attn.q_proj']).toMatchObject({
      vector_lens: [-1, 4],
      num_centroids: [-1, 64],
      num_res_centroids: [-1, -1],
      enable_norm: true,
      enable_perm: true,
      is_indice_packed: true,
    });
    const source = openModel(out) as VptqModelSource;
    expect(source.format).toBe('vptq');
    expect(source.quantizedLayers).toHaveLength(35);
    for (const projection of result.projections) {
      expect(projection.proxyError).toBeGreaterThan(0);
      expect(projection.proxyError).toBeLessThan(0.5);
    }
    source.close();
  });

  it('gives byte-identical output directories for the same inputs and seed, and different ones for another seed', () => {
    const dir = makeTempDir();
    quantize({ ...fast, out: join(dir, 'a') });
    quantize({ ...fast, out: join(dir, 'b') });
    quantize({ ...fast, out: join(dir, 'c'), seed: 7 });
    const a = readTree(join(dir, 'a'));
    expect(readTree(join(dir, 'b'))).toEqual(a);
    expect(readTree(join(dir, 'c'))['model.safetensors'].equals(a['model.safetensors'])).toBe(false);
  });

  it('continues an interrupted run from the last finished layer and ends with the same bytes', () => {
    const dir = makeTempDir();
    quantize({ ...fast, out: join(dir, 'whole') });
    const out = join(dir, 'resumed');
    expect(() =>
      quantize({
        ...fast,
        out,
        onEvent: (event) => {
          if (event.type === 'layer' && event.layer === 3) throw new Error('interrupted');
        },
      }),
    ).toThrow('interrupted');
    expect(existsSync(out)).toBe(false);
    const result = quantize({ ...fast, out });
    expect(result.resumedLayers).toBe(3);
    expect(readTree(out)).toEqual(readTree(join(dir, 'whole')));
  });

  it('survives SIGKILL of the CLI mid-run and finishes with the same bytes when run again', async () => {
    const dir = makeTempDir();
    const args = (out: string) => [cli, 'quantize', '-m', model, '--calib', calibration, '-o', out,
      '--calib-tokens', '3000', '--kmeans-iterations', '8', '--refine-iterations', '2', '--vector-len', '4', '--centroids', '64', '--res-centroids', '0'];
    const run = (out: string) =>
      new Promise<number | null>((done) => spawn(process.execPath, args(out), { stdio: 'ignore' }).on('exit', done));
    const whole = join(dir, 'whole');
    expect(await run(whole)).toBe(0);

    const out = join(dir, 'killed');
    const child = spawn(process.execPath, args(out), { stdio: 'ignore' });
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        if (existsSync(join(`${out}.partial`, 'layer-0001.safetensors'))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          done();
        }
      }, 5);
    });
    await new Promise((done) => child.on('exit', done));
    expect(existsSync(out)).toBe(false);
    expect(await run(out)).toBe(0);
    expect(readTree(out)).toEqual(readTree(whole));
  }, 120_000);

  it('writes the scalar baselines as plain dequantized models', () => {
    const out = join(makeTempDir(), 'gptq');
    const result = quantize({ ...fast, out, method: 'gptq', bits: 3 });
    expect(result.indexBitsPerWeight).toBe(3);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.vptq_baseline).toEqual({ method: 'gptq', bits: 3 });
    expect(openModel(out).format).toBe('hf');
  });
});

describe('quantize rejects bad inputs and leaves nothing behind', () => {
  function expectNothingWritten(dir: string, out: string) {
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
  }

  it('a model that does not exist', () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    expect(() => quantize({ ...fast, model: join(dir, 'missing.bin'), out })).toThrow(/model .*missing\.bin does not exist/);
    expectNothingWritten(dir, out);
  });

  it('a truncated model', () => {
    const dir = makeTempDir();
    const truncated = join(dir, 'stories260K.bin');
    writeFileSync(truncated, readFileSync(model).subarray(0, 50_000));
    writeFileSync(join(dir, 'tok512.bin'), readFileSync(fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin')));
    const out = join(dir, 'out');
    expect(() => quantize({ ...fast, model: truncated, out })).toThrow(/truncated/);
    expect(existsSync(out)).toBe(false);
  });

  it('k not a power of two', () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    expect(() => quantize({ ...fast, numCentroids: 100, out })).toThrow(/power of two/);
    expect(existsSync(out)).toBe(false);
  });

  it('a vector longer than a layer', () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    expect(() => quantize({ ...fast, vectorLength: 128, out })).toThrow(/q_proj \[64×64\]: .*vectorLength/);
    expect(existsSync(out)).toBe(false);
  });

  it('an output directory that already holds another model', () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'config.json'), '{"architectures":["LlamaForCausalLM"]}');
    expect(() => quantize({ ...fast, out })).toThrow(/already holds a model.*--overwrite/);
    expect(readdirSync(out)).toEqual(['config.json']);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('a calibration text too short', () => {
    const dir = makeTempDir();
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'Once upon a time there was a cat.');
    const out = join(dir, 'out');
    expect(() => quantize({ ...fast, calibration: short, out })).toThrow(/calibration text .*too short: \d+ tokens, at least 344/);
    expect(existsSync(out)).toBe(false);
  });
});
