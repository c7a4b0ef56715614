import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fixturePath, makeTempDir, randomFloats } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { convertLlama2cToHf } from './convert-llama2c-to-hf';
import { loadLlama2cTokenizer } from './load-llama2c-tokenizer';
import { loadHfTokenizer } from './load-hf-tokenizer';
import { loadTokenizer } from './load-tokenizer';
import { LoaderError } from './loader-error';
import { openHfModel } from './open-hf-model';
import { openLlama2c } from './open-llama2c';

const stories260K = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const tok512 = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const babyLlama = fixturePath('en10-babyllama-tok105', 'model5000.bin');
const tok105 = fixturePath('en10-babyllama-tok105', 'tok105.bin');
const stories = readFileSync(fixturePath('tinystories-cs336-sample', 'tinystories_sample.txt'), 'utf8')
  .split('<|endoftext|>')
  .map((story) => story.trim())
  .filter((story) => story.length > 0);
const root = makeTempDir('vptq-loader-convert-');

/** Inverse of the converter's q/k permutation: HF row i ← llama2.c row 2i, row i + half ← row 2i + 1. */
function halfToInterleaved(values: Float32Array, rows: number, cols: number, headDim: number): Float32Array {
  const out = new Float32Array(values.length);
  const half = headDim / 2;
  for (let row = 0; row < rows; row++) {
    const head = Math.floor(row / headDim);
    const within = row % headDim;
    const source = within % 2 === 0 ? within / 2 : half + (within - 1) / 2;
    out.set(values.subarray((head * headDim + source) * cols, (head * headDim + source + 1) * cols), row * cols);
  }
  return out;
}

/** Bitwise equality of two arrays' bytes; much faster than a deep equal on megabyte arrays. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function matVec(weight: Float32Array, rows: number, cols: number, x: Float32Array): Float64Array {
  const out = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let col = 0; col < cols; col++) sum += weight[row * cols + col] * x[col];
    out[row] = sum;
  }
  return out;
}

/** RoPE at `position` over one head vector, pairing (2i, 2i+1) or (i, i + half) with frequency θ^(−2i/d). */
function rope(vector: Float64Array, headDim: number, position: number, layout: 'interleaved' | 'half'): Float64Array {
  const out = new Float64Array(vector.length);
  const half = headDim / 2;
  for (let base = 0; base < vector.length; base += headDim) {
    for (let i = 0; i < half; i++) {
      const angle = position * 10000 ** ((-2 * i) / headDim);
      const [a, b] = layout === 'interleaved' ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + half + i];
      out[a] = vector[a] * Math.cos(angle) - vector[b] * Math.sin(angle);
      out[b] = vector[a] * Math.sin(angle) + vector[b] * Math.cos(angle);
    }
  }
  return out;
}

describe('convertLlama2cToHf', () => {
  const outDir = join(root, 'stories260K-hf');
  const result = convertLlama2cToHf(stories260K, tok512, outDir);

  it('writes a complete HF directory and nothing else', () => {
    expect(result.outDir).toBe(outDir);
    expect(result.files).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.bin',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]);
    const config = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      torch_dtype: 'float32',
      tie_word_embeddings: true,
      hidden_size: 64,
      intermediate_size: 172,
      num_key_value_heads: 4,
      max_position_embeddings: 512,
    });
  });

  it('round-trips every tensor and the config (q/k rows permuted to rotate-half)', () => {
    const source = openLlama2c(stories260K);
    const converted = openHfModel(outDir);
    try {
      expect({ ...converted.config, ropeLayout: 'interleaved' }).toEqual(source.config);
      expect(converted.config.ropeLayout).toBe('half');
      expect([...converted.tensors.map((tensor) => tensor.name)].sort()).toEqual(
        [...source.tensors.map((tensor) => tensor.name)].sort(),
      );
      expect(converted.tensors.some((tensor) => tensor.name === 'lm_head.weight')).toBe(false);
      for (const tensor of source.tensors) {
        const original = source.readTensor(tensor.name);
        let values = converted.readTensor(tensor.name);
        const isQk = /\.self_attn\.[qk]_proj\.weight$/.test(tensor.name);
        if (isQk) {
          expect(sameBytes(values, original), tensor.name).toBe(false);
          values = halfToInterleaved(values, tensor.shape[0], tensor.shape[1], source.config.headDim);
        }
        expect(values.length, tensor.name).toBe(original.length);
        expect(sameBytes(values, original), tensor.name).toBe(true);
      }
    } finally {
      source.close();
      converted.close();
    }
  });

  it('gives identical attention scores under interleaved RoPE (source) and rotate-half RoPE (converted)', () => {
    const source = openLlama2c(stories260K);
    const converted = openHfModel(outDir);
    try {
      const { hiddenSize: dim, headDim } = source.config;
      const kvDim = source.config.numKeyValueHeads * headDim;
      const x = randomFloats(dim, 7);
      const y = randomFloats(dim, 8);
      const name = (proj: string) => `model.layers.2.self_attn.${proj}_proj.weight`;
      const scores = (model: typeof source, layout: 'interleaved' | 'half'): number[] => {
        const q = rope(matVec(model.readTensor(name('q')), dim, dim, x), headDim, 37, layout);
        const k = rope(matVec(model.readTensor(name('k')), kvDim, dim, y), headDim, 11, layout);
        const result: number[] = [];
        for (let head = 0; head < dim / headDim; head++) {
          const kvHead = Math.floor(head / (dim / kvDim));
          let sum = 0;
          for (let i = 0; i < headDim; i++) sum += q[head * headDim + i] * k[kvHead * headDim + i];
          result.push(sum);
        }
        return result;
      };
      const expected = scores(source, 'interleaved');
      const actual = scores(converted, 'half');
      actual.forEach((score, head) => expect(score).toBeCloseTo(expected[head], 10));
      // Reading the converted rows with the wrong (interleaved) layout must not give the same scores.
      expect(scores(converted, 'interleaved')).not.toEqual(expected.map((score) => expect.closeTo(score, 6)));
    } finally {
      source.close();
      converted.close();
    }
  });

  it('writes a tokenizer.json that encodes the fixture stories exactly as llama2.c does', () => {
    const reference = loadLlama2cTokenizer(tok512);
    const hf = loadHfTokenizer(outDir);
    expect(hf.vocabSize).toBe(512);
    expect([hf.bosId, hf.eosId]).toEqual([1, 2]);
    for (const story of stories) {
      const ids = reference.encode(story, { bos: true, eos: true });
      expect(hf.encode(story, { bos: true, eos: true })).toEqual(ids);
      expect(hf.decode(ids)).toBe(story);
    }
    // Merge scores tie between two splits of the same piece, so equality is tested, not guaranteed, and
    // the llama2.c file travels along: loadTokenizer prefers it.
    expect(result.tokenizerExact).toBe(false);
    expect(sameBytes(readFileSync(join(outDir, 'tokenizer.bin')), readFileSync(tok512))).toBe(true);
    expect(loadTokenizer(outDir).encode('Lily', { bos: true })).toEqual(reference.encode('Lily', { bos: true }));
  });

  it('omits tokenizer.bin when tokenizer.json is provably exact (tok105: no merges)', () => {
    const baby = convertLlama2cToHf(babyLlama, tok105, join(root, 'baby-hf'));
    expect(baby.tokenizerExact).toBe(true);
    expect(baby.files).not.toContain('tokenizer.bin');
    const reference = loadLlama2cTokenizer(tok105);
    const hf = loadTokenizer(baby.outDir);
    for (const story of stories) expect(hf.encode(story, { bos: true })).toEqual(reference.encode(story, { bos: true }));
    expect(hf.encode('a\nb', { bos: true })).toEqual([1, 3, 5, 0, 23]);
  });

  it('writes lm_head.weight and tie_word_embeddings false for a separate llama2.c classifier', () => {
    const original = readFileSync(stories260K);
    const classifier = Buffer.from(original.subarray(28, 28 + 512 * 64 * 4));
    classifier.writeFloatLE(-3.25, 4 * 100);
    const untied = Buffer.concat([original, classifier]);
    untied.writeInt32LE(-512, 20);
    const binPath = join(root, 'untied.bin');
    writeFileSync(binPath, untied);
    const converted = openHfModel(convertLlama2cToHf(binPath, tok512, join(root, 'untied-hf')).outDir);
    try {
      expect(converted.config.tieWordEmbeddings).toBe(false);
      const head = converted.readTensor('lm_head.weight');
      expect(head[100]).toBe(-3.25);
      expect(sameBytes(head, new Float32Array(Uint8Array.from(classifier).buffer))).toBe(true);
    } finally {
      converted.close();
    }
  });

  it('is deterministic: a second conversion writes byte-identical files', () => {
    const again = convertLlama2cToHf(stories260K, tok512, join(root, 'again'));
    for (const file of result.files) {
      expect(sameBytes(readFileSync(join(again.outDir, file)), readFileSync(join(outDir, file))), file).toBe(true);
    }
  });

  it('refuses to overwrite a non-empty directory unless asked, and replaces it when asked', () => {
    const target = join(root, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine');
    let caught: unknown;
    try {
      convertLlama2cToHf(stories260K, tok512, target);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LoaderError);
    expect(caught).toMatchObject({ code: 'VPTQ_LOADER_OUTPUT_EXISTS', path: target });
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('mine');

    convertLlama2cToHf(stories260K, tok512, target, { overwrite: true });
    expect(existsSync(join(target, 'keep.txt'))).toBe(false);
    expect(existsSync(join(target, 'model.safetensors'))).toBe(true);
    expect(readdirSync(dirname(target)).filter((name) => name.startsWith('.'))).toEqual([]);

    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(convertLlama2cToHf(babyLlama, tok105, empty).files).toContain('model.safetensors');
  });

  it('leaves nothing behind when the conversion fails midway', () => {
    const broken = join(root, 'broken.bin');
    const bytes = readFileSync(stories260K);
    bytes.writeFloatLE(Number.NaN, bytes.length - 4 * (2 * 512 * 4) - 4);
    writeFileSync(broken, bytes);
    const target = join(root, 'never');
    expect(() => convertLlama2cToHf(broken, tok512, target)).toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_NOT_FINITE', tensor: 'model.norm.weight' }),
    );
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(root).filter((name) => name.startsWith('.'))).toEqual([]);
    // A tokenizer with a different vocabulary size than the model is caught before anything is written.
    expect(() => convertLlama2cToHf(stories260K, tok105, target)).toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_TRUNCATED', path: tok105 }),
    );
    expect(existsSync(target)).toBe(false);
  });
});
