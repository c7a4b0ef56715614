import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { editJsonFile, expectLoaderError } from './test/expect-loader-error';
import { openHfModel } from './open-hf-model';
import { writeTinyHfModel } from './test/write-tiny-hf-model';
import type { TinyHfModel, TinyHfModelOptions } from './test/write-tiny-hf-model';

const root = makeTempDir('vptq-loader-hf-');
let counter = 0;

function tinyModel(options: TinyHfModelOptions = {}): TinyHfModel {
  return writeTinyHfModel(join(root, `model-${counter++}`), options);
}

function editConfig(model: TinyHfModel, edit: (config: Record<string, unknown>) => void): void {
  editJsonFile(join(model.dir, 'config.json'), edit);
}

describe('openHfModel', () => {
  it.each([
    ['F32', 1],
    ['F16', 1],
    ['BF16', 1],
    ['F32', 3],
    ['BF16', 2],
  ] as const)('reads %s weights exactly from %i shard(s)', (dtype, shards) => {
    const written = tinyModel({ dtype, shards });
    const model = openHfModel(written.dir);
    try {
      expect(model.format).toBe('hf');
      expect(model.tensors).toHaveLength(written.tensors.size);
      for (const tensor of model.tensors) {
        const expected = written.tensors.get(tensor.name);
        expect(expected, tensor.name).toBeDefined();
        expect(tensor.dtype).toBe(dtype);
        expect(tensor.shape).toEqual(expected?.shape);
        expect(model.readTensor(tensor.name)).toEqual(expected?.values);
      }
    } finally {
      model.close();
    }
  });

  it('maps config.json to a LlamaConfig with HF defaults', () => {
    const written = tinyModel({ config: { rope_theta: undefined, tie_word_embeddings: undefined, eos_token_id: [2, 7] } });
    const model = openHfModel(written.dir);
    model.close();
    expect(model.config).toEqual({
      modelType: 'llama',
      hiddenSize: 8,
      intermediateSize: 12,
      numHiddenLayers: 2,
      numAttentionHeads: 2,
      numKeyValueHeads: 1,
      headDim: 4,
      vocabSize: 10,
      maxPositionEmbeddings: 32,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      ropeLayout: 'half',
      tieWordEmbeddings: false,
      attentionBias: false,
      bosTokenId: 1,
      eosTokenId: 2,
    });
    // Without num_key_value_heads every head has its own K/V, so the stored [4, 8] k_proj no longer fits.
    editConfig(written, (config) => {
      delete config.num_key_value_heads;
    });
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_SHAPE_MISMATCH' }, /k_proj\.weight has shape \[4, 8\] but config\.json implies \[8, 8\]/);
  });

  it('reads Qwen2 (q/k/v biases, tied) and Mistral directories', () => {
    const qwen = openHfModel(tinyModel({ architecture: 'Qwen2ForCausalLM', tie: true }).dir);
    qwen.close();
    expect(qwen.config).toMatchObject({ modelType: 'qwen2', attentionBias: true, tieWordEmbeddings: true });
    expect(qwen.tensors.map((tensor) => tensor.name)).toContain('model.layers.1.self_attn.k_proj.bias');
    expect(qwen.tensors.map((tensor) => tensor.name)).not.toContain('lm_head.weight');
    const mistral = openHfModel(tinyModel({ architecture: 'MistralForCausalLM', config: { head_dim: 4 } }).dir);
    mistral.close();
    expect(mistral.config.modelType).toBe('mistral');
  });

  it.each([
    ['hidden_size', undefined, /hidden_size is missing/],
    ['intermediate_size', 0, /intermediate_size must be a positive integer \(got 0\)/],
    ['num_hidden_layers', 2.5, /num_hidden_layers must be a positive integer/],
    ['vocab_size', '10', /vocab_size must be a positive integer \(got "10"\)/],
    ['max_position_embeddings', undefined, /max_position_embeddings is missing/],
    ['rms_norm_eps', -1, /rms_norm_eps must be a positive number/],
    ['num_key_value_heads', 3, /num_key_value_heads must divide num_attention_heads \(got 3 and 2\)/],
    ['architectures', ['GPT2LMHeadModel'], /architectures must name LlamaForCausalLM/],
    ['hidden_act', 'gelu', /hidden_act must be "silu"/],
    ['tie_word_embeddings', 'yes', /tie_word_embeddings must be a boolean/],
    ['quantization_config', { quant_method: 'vptq' }, /quant_method "vptq"/],
  ])('rejects config.json field %s = %j', (field, value, message) => {
    const written = tinyModel();
    editConfig(written, (config) => {
      if (value === undefined) delete config[field];
      else config[field] = value;
    });
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_BAD_CONFIG', field, path: join(written.dir, 'config.json') },
      message,
    );
  });

  it('rejects a missing or malformed config.json', () => {
    const written = tinyModel();
    writeFileSync(join(written.dir, 'config.json'), '{"hidden_size": 8,');
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_BAD_CONFIG' }, /is not valid JSON/);
    rmSync(join(written.dir, 'config.json'));
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_NOT_FOUND' }, /config\.json does not exist/);
  });

  it('rejects a tensor whose shape disagrees with the config', () => {
    const written = tinyModel();
    editConfig(written, (config) => {
      config.intermediate_size = 16;
    });
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_SHAPE_MISMATCH', tensor: 'model.layers.0.mlp.gate_proj.weight', path: join(written.dir, 'model.safetensors') },
      /has shape \[12, 8\] but config\.json implies \[16, 8\]/,
    );
  });

  it('rejects a missing required tensor (untied lm_head)', () => {
    const written = tinyModel({ tie: true });
    editConfig(written, (config) => {
      config.tie_word_embeddings = false;
    });
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: 'lm_head.weight' },
      /required tensor lm_head\.weight \[10, 8\] is missing/,
    );
  });

  it('rejects a weight stored in an integer dtype', () => {
    const written = tinyModel();
    const path = join(written.dir, 'model.safetensors');
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt32LE(0);
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8');
    // Same byte size, so the file stays self-consistent and only the dtype is wrong.
    const patched = header.replace('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"I32"');
    expect(patched).not.toBe(header);
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), Buffer.from(patched), bytes.subarray(8 + headerLength)]));
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_UNSUPPORTED_DTYPE', tensor: 'model.norm.weight', path },
      /has dtype I32; expected F32, F16 or BF16/,
    );
  });

  it('rejects a bad safetensors header length and a truncated data region', () => {
    const written = tinyModel();
    const path = join(written.dir, 'model.safetensors');
    const bytes = readFileSync(path);
    const huge = Buffer.from(bytes);
    huge.writeUInt32LE(0xfffffff0, 0);
    writeFileSync(path, huge);
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_BAD_SAFETENSORS', path }, /above the 100 MB limit/);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_TRUNCATED', path }, /run past the end/);
  });

  it('rejects a missing shard and an index that points at the wrong shard', () => {
    const written = tinyModel({ shards: 2 });
    const indexPath = join(written.dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    index.weight_map['model.norm.weight'] =
      index.weight_map['model.norm.weight'] === 'model-00001-of-00002.safetensors'
        ? 'model-00002-of-00002.safetensors'
        : 'model-00001-of-00002.safetensors';
    writeFileSync(indexPath, JSON.stringify(index));
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_BAD_SAFETENSORS', tensor: 'model.norm.weight' },
      /puts tensor model\.norm\.weight in model-0000\d-of-00002\.safetensors, but it is in/,
    );
    rmSync(join(written.dir, 'model-00002-of-00002.safetensors'));
    expectLoaderError(
      () => openHfModel(written.dir),
      { code: 'VPTQ_LOADER_NOT_FOUND', path: join(written.dir, 'model-00002-of-00002.safetensors') },
      /shard .*model-00002-of-00002\.safetensors named by .*index\.json for tensor /,
    );
    index.weight_map['model.norm.weight'] = '../escape.safetensors';
    writeFileSync(indexPath, JSON.stringify(index));
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_BAD_SAFETENSORS', field: 'weight_map' }, /inside the directory/);
  });

  it('rejects a directory without weights', () => {
    const written = tinyModel();
    rmSync(join(written.dir, 'model.safetensors'));
    expectLoaderError(() => openHfModel(written.dir), { code: 'VPTQ_LOADER_NOT_FOUND' }, /model\.safetensors/);
  });

  it('reports NaN in an F16 tensor when it is read, and rejects unknown names and reads after close', () => {
    const written = tinyModel({ dtype: 'F16' });
    const path = join(written.dir, 'model.safetensors');
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const [begin] = header['model.norm.weight'].data_offsets as number[];
    bytes.writeUInt16LE(0x7e00, 8 + headerLength + begin + 2 * 3);
    writeFileSync(path, bytes);
    const model = openHfModel(written.dir);
    expectLoaderError(
      () => model.readTensor('model.norm.weight'),
      { code: 'VPTQ_LOADER_NOT_FINITE', tensor: 'model.norm.weight', path },
      /holds NaN at element 3/,
    );
    expect(model.readTensor('lm_head.weight')).toHaveLength(80);
    expectLoaderError(() => model.readTensor('nope'), { code: 'VPTQ_LOADER_UNKNOWN_TENSOR' }, /has no tensor nope/);
    // BF16 ±Infinity and NaN, found in the stored bits before widening.
    const bf16 = tinyModel({ dtype: 'BF16' });
    const bf16Path = join(bf16.dir, 'model.safetensors');
    for (const [bits, value] of [[0xff80, '-Infinity'], [0x7f80, 'Infinity'], [0x7fc1, 'NaN']] as const) {
      const stored = readFileSync(bf16Path);
      const length = stored.readUInt32LE(0);
      const [start] = JSON.parse(stored.subarray(8, 8 + length).toString('utf8'))['model.norm.weight'].data_offsets as number[];
      stored.writeUInt16LE(bits, 8 + length + start + 2 * 5);
      writeFileSync(bf16Path, stored);
      const reopened = openHfModel(bf16.dir);
      expectLoaderError(() => reopened.readTensor('model.norm.weight'), { code: 'VPTQ_LOADER_NOT_FINITE', tensor: 'model.norm.weight' }, new RegExp(`holds ${value} at element 5`));
      reopened.close();
    }
    model.close();
    expectLoaderError(() => model.readTensor('lm_head.weight'), { code: 'VPTQ_LOADER_CLOSED' }, /was closed/);
  });
});
