import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { accumulateHessian, createHessianAccumulator, finalizeHessian } from '@vptq/hessian';
import { afterAll, describe, expect, it } from 'vitest';

import { fingerprintModel } from './fingerprint-model';
import { readHessianFile, writeHessianFile } from './hessian-file';
import { readProjectionResult, writeProjectionResult } from './projection-result-file';

const dir = mkdtempSync(join(tmpdir(), 'vptq-distributed-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('files of the shared job directory', () => {
  it('hands a Hessian to a worker as the very f64 bits the coordinator collected', () => {
    const accumulator = createHessianAccumulator(5);
    const inputs = Float32Array.from({ length: 5 * 70 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
    accumulateHessian(accumulator, inputs, 70);
    const hessian = finalizeHessian(accumulator);
    writeHessianFile(join(dir, 'h.safetensors'), hessian);
    const read = readHessianFile(join(dir, 'h.safetensors'));
    expect(read.size).toBe(5);
    expect(read.tokens).toBe(70);
    expect(Buffer.from(read.data.buffer).equals(Buffer.from(hessian.data.buffer))).toBe(true);
    expect(Buffer.from(read.mean.buffer).equals(Buffer.from(hessian.mean.buffer))).toBe(true);
  });

  it('refuses a Hessian file without its tensors, naming the file', () => {
    writeProjectionResult(join(dir, 'not-a-hessian.safetensors'), { tensors: [], summary: { name: 'x', outFeatures: 1, inFeatures: 1, proxyError: 0, indexBits: 2, totalBits: 2 } });
    expect(() => readHessianFile(join(dir, 'not-a-hessian.safetensors'))).toThrow(/Hessian file .*not-a-hessian.safetensors: no F64 tensor hessian/);
  });

  it('hands a projection back with its tensors and summary', () => {
    const summary = { name: 'model.layers.0.mlp.down_proj', outFeatures: 2, inFeatures: 3, proxyError: 0.125, indexBits: 2, totalBits: 2.5 };
    const weight = new Float32Array([1, 2, 3, 4, 5, 6]);
    writeProjectionResult(join(dir, 'p.safetensors'), { tensors: [{ name: `${summary.name}.weight`, dtype: 'F32', shape: [2, 3], data: weight }], summary });
    const read = readProjectionResult(join(dir, 'p.safetensors'));
    expect(read.summary).toEqual(summary);
    expect(read.tensors).toHaveLength(1);
    expect(new Float32Array((read.tensors[0].data as Uint8Array).slice().buffer)).toEqual(weight);
  });

  it('fingerprints a model by its bytes and relative names, not where it is mounted', () => {
    const a = join(dir, 'model-a');
    const b = join(dir, 'elsewhere/model-b');
    for (const model of [a, b]) {
      mkdirSync(model, { recursive: true });
      writeFileSync(join(model, 'config.json'), '{"hidden_size":8}');
      writeFileSync(join(model, 'model.safetensors'), Buffer.from([1, 2, 3, 4]));
    }
    expect(fingerprintModel(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintModel(b)).toBe(fingerprintModel(a));
    const bytes = readFileSync(join(b, 'model.safetensors'));
    bytes[2] ^= 1;
    writeFileSync(join(b, 'model.safetensors'), bytes);
    // The per-process cache keys on size and modification time; make sure the rewrite shows in the latter.
    utimesSync(join(b, 'model.safetensors'), new Date(1_000_000), new Date(1_000_000));
    expect(fingerprintModel(b)).not.toBe(fingerprintModel(a));
  });
});
