import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { expectLoaderError } from './test/expect-loader-error';
import { openLlama2c } from './open-llama2c';

const original = readFileSync(fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'));
const dir = makeTempDir('vptq-loader-llama2c-');
let counter = 0;

function writeVariant(bytes: Uint8Array): string {
  const path = join(dir, `variant-${counter++}.bin`);
  writeFileSync(path, bytes);
  return path;
}

function withHeader(field: number, value: number): string {
  const copy = Buffer.from(original);
  copy.writeInt32LE(value, field * 4);
  return writeVariant(copy);
}

function expectError(
  action: () => unknown,
  expected: { code: string; path?: string; tensor?: string; field?: string; message?: RegExp },
): void {
  const { message, ...fields } = expected;
  expectLoaderError(action, fields, message);
}

describe('openLlama2c on malformed files', () => {
  it('reports a file cut inside a tensor, naming the tensor and both sizes', () => {
    const path = writeVariant(original.subarray(0, 500_000));
    expectError(() => openLlama2c(path), {
      code: 'VPTQ_LOADER_TRUNCATED',
      path,
      tensor: 'model.layers.2.mlp.gate_proj.weight',
      message: /truncated: the header promises 1056540 bytes but the file has 500000/,
    });
  });

  it('reports a file shorter than the header', () => {
    const path = writeVariant(original.subarray(0, 10));
    expectError(() => openLlama2c(path), { code: 'VPTQ_LOADER_TRUNCATED', field: 'header', path });
  });

  it('reports trailing bytes the header does not account for', () => {
    const path = writeVariant(Buffer.concat([original, Buffer.alloc(4)]));
    expectError(() => openLlama2c(path), {
      code: 'VPTQ_LOADER_SIZE_MISMATCH',
      message: /has 1056544 bytes but its header accounts for 1056540/,
    });
  });

  it.each([
    [0, 0, 'dim', /dim must be between 1 and 65536 \(got 0\)/],
    [1, -5, 'hidden_dim', /hidden_dim must be between 1 and 1048576 \(got -5\)/],
    [2, 5000, 'n_layers', /n_layers must be between 1 and 1024 \(got 5000\)/],
    [5, 0, 'vocab_size', /vocab_size must be between 1/],
    [5, -2147483648, 'vocab_size', /vocab_size must be between 1/],
    [6, 0, 'seq_len', /seq_len must be between 1/],
    [3, 7, 'n_heads', /n_heads must divide dim \(got n_heads = 7, dim = 64\)/],
    [4, 3, 'n_kv_heads', /n_kv_heads must divide n_heads \(got n_kv_heads = 3, n_heads = 8\)/],
    [4, 16, 'n_kv_heads', /n_kv_heads must divide n_heads/],
    [3, 64, 'n_heads', /must be even for RoPE pairs \(got head size 1\)/],
  ])('rejects header field %i = %i as a bad %s', (index, value, field, message) => {
    const path = withHeader(index, value);
    expectError(() => openLlama2c(path), { code: 'VPTQ_LOADER_BAD_HEADER', field, path, message });
  });

  it('rejects a plausible header that describes a different size (layers 5 → 4)', () => {
    const path = withHeader(2, 4);
    expectError(() => openLlama2c(path), { code: 'VPTQ_LOADER_SIZE_MISMATCH', path });
  });

  it('reports NaN and Infinity weights when the tensor holding them is read', () => {
    const copy = Buffer.from(original);
    // Element 100 of wq of layer 2: after the embedding, all rms_att and two layers of wq.
    const index = 512 * 64 + 5 * 64 + 2 * 64 * 64 + 100;
    copy.writeFloatLE(Number.NaN, 28 + index * 4);
    copy.writeFloatLE(Number.NEGATIVE_INFINITY, 28 + 4 * (512 * 64 + 5 * 64 + 5 * 64 * 64 - 1));
    const path = writeVariant(copy);
    const model = openLlama2c(path);
    try {
      expect(model.readTensor('model.layers.1.self_attn.q_proj.weight')).toHaveLength(64 * 64);
      expectError(() => model.readTensor('model.layers.2.self_attn.q_proj.weight'), {
        code: 'VPTQ_LOADER_NOT_FINITE',
        tensor: 'model.layers.2.self_attn.q_proj.weight',
        message: /holds NaN at element 100/,
      });
      expectError(() => model.readTensor('model.layers.4.self_attn.q_proj.weight'), {
        code: 'VPTQ_LOADER_NOT_FINITE',
        message: /holds -Infinity at element 4095/,
      });
    } finally {
      model.close();
    }
  });

  it('reads a separate classifier when vocab_size is negative', () => {
    const embedding = original.subarray(28, 28 + 512 * 64 * 4);
    const classifier = Buffer.from(embedding);
    classifier.writeFloatLE(123.5, 4 * 64);
    const copy = Buffer.concat([original, classifier]);
    copy.writeInt32LE(-512, 20);
    const model = openLlama2c(writeVariant(copy));
    try {
      expect(model.config.tieWordEmbeddings).toBe(false);
      expect(model.config.vocabSize).toBe(512);
      expect(model.tensors.at(-1)).toEqual({ name: 'lm_head.weight', dtype: 'F32', shape: [512, 64] });
      const head = model.readTensor('lm_head.weight');
      expect(head[64]).toBe(123.5);
      expect(head[65]).toBe(model.readTensor('model.embed_tokens.weight')[65]);
    } finally {
      model.close();
    }
  });
});
