import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { convertLlama2cToHf, nodeModelFiles } from '@vptq/loader/node';
import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { quantize } from './quantize-model';
import { quantizeInMemory } from './quantize-in-memory';

const bin = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const tokenizer = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const calibration = fixturePath('tinystories-train-head', 'tinystories.txt');
const settings = { calibrationTokens: 3000, kmeansIterations: 8, refineIterations: 2, vectorLength: 4, numCentroids: 64, numResidualCentroids: 16 } as const;

describe('quantizeInMemory', () => {
  it('gives the same files as quantize on the CPU, from ModelFiles and a calibration text', async () => {
    const dir = makeTempDir();
    const hf = join(dir, 'hf');
    convertLlama2cToHf(bin, tokenizer, hf);
    const out = join(dir, 'out');
    const onDisk = await quantize({ model: hf, calibration, out, device: 'cpu', ...settings });
    const events: string[] = [];
    const inMemory = await quantizeInMemory({
      model: nodeModelFiles(hf),
      calibration: readFileSync(calibration, 'utf8'),
      ...settings,
      onEvent: (event) => events.push(event.type),
    });
    expect(inMemory.device).toBe('cpu');
    expect(inMemory.projections).toEqual(onDisk.projections);
    expect(inMemory.indexBitsPerWeight).toBe(onDisk.indexBitsPerWeight);
    expect(inMemory.totalBitsPerWeight).toBe(onDisk.totalBitsPerWeight);
    expect(inMemory.calibrationTokens).toBe(onDisk.calibrationTokens);
    expect(events.filter((type) => type === 'layer')).toHaveLength(5);
    for (const name of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      const source = await inMemory.files.open(name);
      expect(source, name).toBeDefined();
      const bytes = await source!.read(0, source!.byteLength);
      expect(Buffer.from(bytes).equals(readFileSync(join(out, name))), name).toBe(true);
    }
  }, 120_000);

  it('refuses a llama2.c checkpoint, and a GPU run without a device', async () => {
    const text = readFileSync(calibration, 'utf8');
    await expect(quantizeInMemory({ model: nodeModelFiles(bin), calibration: text })).rejects.toThrow(/llama2\.c checkpoint; convert it/);
    await expect(quantizeInMemory({ model: nodeModelFiles(bin), calibration: text, device: 'gpu' })).rejects.toThrow(/needs options.gpuDevice/);
  });
});
