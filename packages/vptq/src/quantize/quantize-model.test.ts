import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { openHfModel, openModel } from '@vptq/loader/node';
import type { VptqModelSource } from '@vptq/loader';
import { createGpuModel, perplexity } from '@vptq/runtime';
import { fixturePath, makeTempDir, maxAbsDifference, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { load } from '../load';
import { readQuantizationReport } from '../report/quantization-report';
import { killQuantizeCliAfterLayer1, readTree, runQuantizeCli } from '../test/quantize-cli-runs';
import { writeStoriesVariant } from '../test/write-stories-variant';
import { quantize } from './quantize-model';
import type { QuantizeOptions } from './quantize-options';

const model = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const calibration = fixturePath('tinystories-train-head', 'tinystories.txt');
const sample = fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt');
const cli = resolve(fileURLToPath(import.meta.url), '../../../dist/cli.js');

// Small but real: every layer of stories260K, a short calibration pass and few k-means iterations.
const fast: Omit<QuantizeOptions, 'out'> = {
  device: 'cpu',
  model,
  calibration,
  calibrationTokens: 3000,
  kmeansIterations: 8,
  refineIterations: 2,
  vectorLength: 4,
  numCentroids: 64,
  numResidualCentroids: 0,
};


describe('quantize', () => {
  it('writes a complete VPTQ directory that loads back with the configured layers', async () => {
    const out = join(makeTempDir(), 'model');
    const result = await quantize({ ...fast, out });
    expect(result.projections).toHaveLength(35);
    expect(result.indexBitsPerWeight).toBeCloseTo(Math.log2(64) / 4, 10);
    // The report keeps what the result says, per layer, with every k-means run and the time of every phase.
    const report = readQuantizationReport(out);
    expect(report).toMatchObject({ model: 'stories260K.bin', method: 'vptq', device: 'cpu', calibrationTokens: result.calibrationTokens, perplexity: [] });
    expect(report.settings).toMatchObject({ vectorLength: 4, numCentroids: 64, kmeansIterations: 8, refineIterations: 2 });
    expect(report.indexBitsPerWeight).toBe(result.indexBitsPerWeight);
    expect(report.totalBitsPerWeight).toBe(result.totalBitsPerWeight);
    expect(report.layers.map((layer) => layer.layer)).toEqual([0, 1, 2, 3, 4]);
    expect(report.layers.flatMap((layer) => layer.projections)).toEqual(result.projections.map(({ layerConfig: _config, ...rest }) => rest));
    for (const projection of result.projections) {
      expect(projection.kmeans?.map((run) => run.codebook)).toEqual(['main']);
      expect(projection.kmeans?.[0].objectives).toHaveLength(projection.kmeans?.[0].iterations as number);
    }
    expect(report.timing.resumedLayers).toBe(0);
    for (const layer of report.timing.layers) {
      expect(layer.resumed).toBe(false);
      expect(Object.keys(layer.seconds)).toEqual(['calibrate', 'prepare', 'quantize', 'checkpoint']);
    }
    expect(result.totalBitsPerWeight).toBeGreaterThan(result.indexBitsPerWeight);
    expect(readdirSync(out).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'quantization-report.json', 'tokenizer.bin', 'tokenizer.json', 'tokenizer_config.json'],
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

  it('gives byte-identical output directories for the same inputs and seed, and different ones for another seed', async () => {
    const dir = makeTempDir();
    await quantize({ ...fast, out: join(dir, 'a') });
    await quantize({ ...fast, out: join(dir, 'b') });
    await quantize({ ...fast, out: join(dir, 'c'), seed: 7 });
    const a = readTree(join(dir, 'a'));
    expect(readTree(join(dir, 'b'))).toEqual(a);
    expect(readTree(join(dir, 'c'))['model.safetensors'].equals(a['model.safetensors'])).toBe(false);
  });

  it('continues an interrupted run from the last finished layer and ends with the same bytes', async () => {
    const dir = makeTempDir();
    await quantize({ ...fast, out: join(dir, 'whole') });
    const out = join(dir, 'resumed');
    await expect(quantize({
        ...fast,
        out,
        onEvent: (event) => {
          if (event.type === 'layer' && event.layer === 3) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(existsSync(out)).toBe(false);
    const result = await quantize({ ...fast, out });
    expect(result.resumedLayers).toBe(3);
    expect(readTree(out)).toEqual(readTree(join(dir, 'whole')));
    // The resumed layers keep the phases of the run that quantized them, plus this run's replay.
    const { timing } = readQuantizationReport(out);
    expect(timing.resumedLayers).toBe(3);
    expect(timing.layers.map((layer) => [layer.resumed, Object.keys(layer.seconds)])).toEqual([
      ...[0, 1, 2].map(() => [true, ['calibrate', 'prepare', 'quantize', 'replay']]),
      ...[3, 4].map(() => [false, ['calibrate', 'prepare', 'quantize', 'checkpoint']]),
    ]);
  });

  it('survives SIGKILL of the CLI mid-run and finishes with the same bytes when run again', async () => {
    const dir = makeTempDir();
    const flags = ['-m', model, '--calib', calibration, '--calib-tokens', '3000', '--kmeans-iterations', '8', '--refine-iterations', '2',
      '--vector-len', '4', '--centroids', '64', '--res-centroids', '0', '--device', 'cpu'];
    const whole = join(dir, 'whole');
    expect(await runQuantizeCli(whole, flags)).toBe(0);
    const out = join(dir, 'killed');
    await killQuantizeCliAfterLayer1(out, flags);
    expect(existsSync(out)).toBe(false);
    expect(await runQuantizeCli(out, flags)).toBe(0);
    expect(readTree(out)).toEqual(readTree(whole));
  }, 120_000);

  it('writes the scalar baselines as plain dequantized models', async () => {
    const out = join(makeTempDir(), 'gptq');
    const result = await quantize({ ...fast, out, method: 'gptq', bits: 3 });
    expect(result.indexBitsPerWeight).toBe(3);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.quantization_config).toBeUndefined();
    expect(config.vptq_baseline).toEqual({ method: 'gptq', bits: 3 });
    expect(openModel(out).format).toBe('hf');
  });

  it('writes settings the reference would misread only when allowed, with a warning, and inspect names them', async () => {
    const dir = makeTempDir();
    const misread = { ...fast, numCentroids: 16, numResidualCentroids: 64 };
    const refused = join(dir, 'refused');
    await expect(quantize({ ...misread, out: refused })).rejects.toThrow(
      /reference implementation \(microsoft\/VPTQ\) would decode these layers wrongly[\s\S]*model\.layers\.0\.self_attn\.q_proj \(and 34 more\): the residual codebook \(Kr = 64\) is larger than the main one \(K = 16\)[\s\S]*--allow-reference-misreads/,
    );
    expect(existsSync(refused)).toBe(false);
    expect(existsSync(`${refused}.partial`)).toBe(false);

    const out = join(dir, 'allowed');
    const logs: string[] = [];
    await quantize({ ...misread, out, allowReferenceMisreads: true, onEvent: (event) => event.type === 'log' && logs.push(event.message) });
    expect(logs.filter((line) => line.startsWith('warning: the reference implementation would misread'))).toHaveLength(1);
    const inspected = await runCli(['inspect', out, '--json']);
    const report = JSON.parse(inspected) as { layers: { referenceMisreads: string[] }[] };
    expect(report.layers).toHaveLength(35);
    expect(report.layers.every((layer) => layer.referenceMisreads.length === 1 && /Kr = 64/.test(layer.referenceMisreads[0]))).toBe(true);
    expect(await runCli(['inspect', out])).toMatch(/warning: the reference implementation \(microsoft\/VPTQ\) would misread 35 layers .*larger than the main one/);
  });
});

/** Runs the built CLI and resolves with its stdout (rejects on a non-zero exit). */
function runCli(args: readonly string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('exit', (code) => (code === 0 ? done(Buffer.concat(chunks).toString('utf8')) : fail(new Error(Buffer.concat(errors).toString('utf8')))));
  });
}

describe('quantize rejects bad inputs and leaves nothing behind', () => {
  function expectNothingWritten(dir: string, out: string) {
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
  }

  it('a model that does not exist', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    await expect(quantize({ ...fast, model: join(dir, 'missing.bin'), out })).rejects.toThrow(/model .*missing\.bin does not exist/);
    expectNothingWritten(dir, out);
  });

  it('a truncated model', async () => {
    const dir = makeTempDir();
    const truncated = join(dir, 'stories260K.bin');
    writeFileSync(truncated, readFileSync(model).subarray(0, 50_000));
    writeFileSync(join(dir, 'tok512.bin'), readFileSync(fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin')));
    const out = join(dir, 'out');
    await expect(quantize({ ...fast, model: truncated, out })).rejects.toThrow(/truncated/);
    expect(existsSync(out)).toBe(false);
  });

  it('k not a power of two', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    await expect(quantize({ ...fast, numCentroids: 100, out })).rejects.toThrow(/power of two/);
    await expect(quantize({ ...fast, projectionsInFlight: 0, out })).rejects.toThrow(/projectionsInFlight must be auto or an integer from 1 to 8 \(got 0\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('a vector longer than a layer', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    await expect(quantize({ ...fast, vectorLength: 128, out })).rejects.toThrow(/q_proj \[64×64\]: .*vectorLength/);
    expect(existsSync(out)).toBe(false);
  });

  it('an output directory that already holds another model', async () => {
    const dir = makeTempDir();
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'config.json'), '{"architectures":["LlamaForCausalLM"]}');
    await expect(quantize({ ...fast, out })).rejects.toThrow(/already holds a model.*--overwrite/);
    expect(readdirSync(out)).toEqual(['config.json']);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('a calibration text too short', async () => {
    const dir = makeTempDir();
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'Once upon a time there was a cat.');
    const out = join(dir, 'out');
    await expect(quantize({ ...fast, calibration: short, out })).rejects.toThrow(/calibration text .*too short: \d+ tokens, at least 344/);
    expect(existsSync(out)).toBe(false);
  });
});

const device = await requestTestDevice();

/**
 * stories260K as a Hugging Face Llama directory with `attention_bias: true`: seeded random biases (±0.2, never
 * zero) on q, k, v and o of every layer, which transformers' LlamaAttention would build for this config.
 */
function writeBiasedLlama(dir: string): void {
  writeStoriesVariant(dir, {
    config: (converted) => ({ ...converted, attention_bias: true }),
    biases: /^(model\.layers\.\d+\.self_attn\.[qkvo]_proj)\.weight$/,
  });
}

describe('quantize a Llama with attention_bias (q/k/v/o biases)', () => {
  const dir = makeTempDir();
  const hf = join(dir, 'hf');
  const out = join(dir, 'vptq');
  const text = readFileSync(sample, 'utf8');
  let quantizedPerplexity = Number.NaN;
  afterAll(async () => {
    if (device) await releaseTestDevice();
  });

  it('quantizes into a directory that loads with every bias and evaluates to a finite perplexity near the original', async () => {
    writeBiasedLlama(hf);
    const original = load(hf);
    expect(original.config).toMatchObject({ modelType: 'llama', attentionBias: true });
    const originalPerplexity = perplexity(original.model, original.tokenizer, text).perplexity;

    // 4 index bits (v2 k256): at the 2-bit settings of `fast` this tiny model loses most of its quality anyway
    // (bias-free perplexity 3.6 → 100–200), so only here does "near the original" say the biases made it through.
    const result = await quantize({ ...fast, model: hf, out, vectorLength: 2, numCentroids: 256 });
    expect(result.projections).toHaveLength(35);
    const source = openModel(out) as VptqModelSource;
    try {
      expect(source.format).toBe('vptq');
      const biased = source.quantizedLayers.filter((layer) => layer.config.bias).map((layer) => layer.name);
      expect(biased).toHaveLength(5 * 4);
      expect(biased.filter((name) => name.endsWith('.o_proj'))).toHaveLength(5);
      // The layer keeps its bias (stored F16, like the codebooks).
      const written = openHfModel(hf);
      const bias = written.readTensor('model.layers.2.self_attn.o_proj.bias');
      written.close();
      expect(maxAbsDifference(source.readTensor('model.layers.2.self_attn.o_proj.bias'), bias)).toBeLessThan(2e-4);
    } finally {
      source.close();
    }

    const quantized = load(out);
    quantizedPerplexity = perplexity(quantized.model, quantized.tokenizer, text).perplexity;
    console.log(`stories260K with attention biases: fp32 perplexity ${originalPerplexity.toFixed(4)}, VPTQ v2 k256 ${quantizedPerplexity.toFixed(4)}`);
    expect(Number.isFinite(quantizedPerplexity)).toBe(true);
    // Measured: fp32 8.42, VPTQ 10.81 (8.41 at 8 index bits, v1 k256). The random biases cost this model quality:
    // without its o_proj biases (the rule before one table) the same directories give 3.94 and 4.54, far below.
    expect(quantizedPerplexity).toBeGreaterThan(originalPerplexity * 0.95);
    expect(quantizedPerplexity).toBeLessThan(originalPerplexity * 1.5);
  });

  it.skipIf(!device)('the quantized directory evaluates on the GPU (packed layers with biases) equal to the CPU', async () => {
    expect(Number.isFinite(quantizedPerplexity)).toBe(true);
    const cpu = load(out);
    const source = openModel(out);
    const gpu = await createGpuModel(device as GPUDevice, source);
    source.close();
    try {
      const tokens = cpu.tokenizer.encode('Once upon a time, a little cat sat on the mat.', { bos: true });
      const window = maxAbsDifference(await gpu.forward(tokens, 0, { allLogits: true }), cpu.model.forward(tokens, 0, { allLogits: true }));
      const step = maxAbsDifference(await gpu.forward([9], tokens.length), cpu.model.forward([9], tokens.length));
      const onGpu = (await perplexity(gpu, cpu.tokenizer, text)).perplexity;
      const relative = Math.abs(onGpu - quantizedPerplexity) / quantizedPerplexity;
      console.log(`GPU vs CPU: max |Δlogit| window ${window.toExponential(2)}, decode ${step.toExponential(2)}; perplexity ${onGpu.toFixed(4)} vs ${quantizedPerplexity.toFixed(4)} (relative ${relative.toExponential(2)})`);
      expect(window).toBeLessThan(2e-4);
      expect(step).toBeLessThan(2e-4);
      expect(relative).toBeLessThan(1e-4);
    } finally {
      gpu.destroy();
    }
  });
});
