import { readFileSync } from 'node:fs';

import { fixturePath } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { openLlama2c } from './open-llama2c';

const models = [
  {
    path: fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'),
    header: [64, 172, 5, 8, 4, 512, 512],
    parameters: 260_032,
  },
  {
    path: fixturePath('saltyduckegg-llama2xs-model', 'model.bin'),
    header: [64, 192, 5, 8, 4, 512, 256],
    parameters: 279_232,
  },
  {
    path: fixturePath('en10-babyllama-tok105', 'model5000.bin'),
    header: [128, 352, 5, 8, 4, 105, 256],
    parameters: 936_448,
  },
];

/** The file as f32 words after the 7-int32 header, read with Buffer (independent of the loader's reads). */
function rawFloats(path: string): { header: number[]; floats: Float32Array } {
  const bytes = readFileSync(path);
  const header = Array.from({ length: 7 }, (_, i) => bytes.readInt32LE(i * 4));
  // An aligned copy of the payload viewed as f32 (every supported host is little-endian, as the file is).
  const floats = new Float32Array(Uint8Array.from(bytes.subarray(28)).buffer);
  expect(floats[floats.length - 1]).toBe(bytes.readFloatLE(bytes.length - 4));
  return { header, floats };
}

describe('openLlama2c', () => {
  it.each(models)('maps the header of $path to a LlamaConfig', ({ path, header, parameters }) => {
    const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = header;
    const model = openLlama2c(path);
    try {
      expect(model.format).toBe('llama2c');
      expect(model.path).toBe(path);
      expect(model.config).toEqual({
        modelType: 'llama',
        hiddenSize: dim,
        intermediateSize: hidden,
        numHiddenLayers: layers,
        numAttentionHeads: heads,
        numKeyValueHeads: kvHeads,
        headDim: dim / heads,
        vocabSize: vocab,
        maxPositionEmbeddings: seqLen,
        rmsNormEps: 1e-5,
        ropeTheta: 10000,
        ropeLayout: 'interleaved',
        tieWordEmbeddings: true,
        attentionBias: false,
        bosTokenId: 1,
        eosTokenId: 2,
      });
      // Tied classifiers: embedding + final norm + 9 tensors per layer, no lm_head.
      expect(model.tensors).toHaveLength(2 + 9 * layers);
      expect(model.tensors.some((tensor) => tensor.name === 'lm_head.weight')).toBe(false);
      const count = model.tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((a, b) => a * b, 1), 0);
      expect(count).toBe(parameters);
      expect(model.tensors.every((tensor) => tensor.dtype === 'F32')).toBe(true);
    } finally {
      model.close();
    }
  });

  it.each(models)('reads every tensor of $path as the raw file holds it, in file order', ({ path }) => {
    const { header, floats } = rawFloats(path);
    const model = openLlama2c(path);
    try {
      let offset = 0;
      for (const tensor of model.tensors) {
        const values = model.readTensor(tensor.name);
        expect(values.length).toBe(tensor.shape.reduce((a, b) => a * b, 1));
        const expected = floats.subarray(offset, offset + values.length);
        expect(Buffer.from(values.buffer).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(true);
        offset += values.length;
        if (tensor.name === 'model.norm.weight') break;
      }
      // What follows the final norm is only the two freq_cis tables, [seq_len, head_dim / 2] each.
      const headDim = header[0] / header[3];
      expect(floats.length - offset).toBe(2 * header[6] * (headDim / 2));
    } finally {
      model.close();
    }
  });

  it('slices the stacked llama2.c arrays per layer under HF names (stories260K)', () => {
    const path = models[0].path;
    const { floats } = rawFloats(path);
    const [dim, hidden, layers, , , vocab] = models[0].header;
    const kvDim = 32;
    // Offsets of the stacked arrays, written out from llama2.c's memory_map_weights.
    const embed = 0;
    const rmsAtt = embed + vocab * dim;
    const wq = rmsAtt + layers * dim;
    const wk = wq + layers * dim * dim;
    const wv = wk + layers * kvDim * dim;
    const wo = wv + layers * kvDim * dim;
    const rmsFfn = wo + layers * dim * dim;
    const w1 = rmsFfn + layers * dim;
    const w2 = w1 + layers * hidden * dim;
    const w3 = w2 + layers * dim * hidden;
    const rmsFinal = w3 + layers * hidden * dim;

    const model = openLlama2c(path);
    try {
      const layer = 3;
      expect(model.readTensor('model.embed_tokens.weight')[410 * dim + 5]).toBe(floats[embed + 410 * dim + 5]);
      expect(model.readTensor(`model.layers.${layer}.input_layernorm.weight`)[7]).toBe(floats[rmsAtt + layer * dim + 7]);
      expect(model.readTensor(`model.layers.${layer}.self_attn.q_proj.weight`)[9 * dim + 2]).toBe(
        floats[wq + layer * dim * dim + 9 * dim + 2],
      );
      expect(model.readTensor(`model.layers.${layer}.self_attn.k_proj.weight`)[5 * dim + 7]).toBe(
        floats[wk + layer * kvDim * dim + 5 * dim + 7],
      );
      expect(model.readTensor(`model.layers.${layer}.self_attn.v_proj.weight`)[31 * dim + 63]).toBe(
        floats[wv + layer * kvDim * dim + 31 * dim + 63],
      );
      expect(model.readTensor(`model.layers.${layer}.self_attn.o_proj.weight`)[1]).toBe(floats[wo + layer * dim * dim + 1]);
      expect(model.readTensor(`model.layers.${layer}.post_attention_layernorm.weight`)[0]).toBe(
        floats[rmsFfn + layer * dim],
      );
      expect(model.readTensor(`model.layers.${layer}.mlp.gate_proj.weight`)[171 * dim + 3]).toBe(
        floats[w1 + layer * hidden * dim + 171 * dim + 3],
      );
      expect(model.readTensor(`model.layers.${layer}.mlp.down_proj.weight`)[2 * hidden + 171]).toBe(
        floats[w2 + layer * dim * hidden + 2 * hidden + 171],
      );
      expect(model.readTensor(`model.layers.${layer}.mlp.up_proj.weight`)[4]).toBe(floats[w3 + layer * hidden * dim + 4]);
      expect(model.readTensor('model.norm.weight')[63]).toBe(floats[rmsFinal + 63]);
      expect(model.tensors.find((t) => t.name === 'model.layers.0.mlp.down_proj.weight')?.shape).toEqual([dim, hidden]);
      expect(model.tensors.find((t) => t.name === 'model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([kvDim, dim]);
    } finally {
      model.close();
    }
  });

  it('has the weight statistics of the trained stories260K model', () => {
    const model = openLlama2c(models[0].path);
    try {
      const norm = model.readTensor('model.norm.weight');
      const mean = norm.reduce((sum, value) => sum + value, 0) / norm.length;
      // PROVENANCE.md: rms_final mean 1.81; wq std 0.228.
      expect(mean).toBeCloseTo(1.81, 2);
      let sumSquares = 0;
      let count = 0;
      for (let layer = 0; layer < 5; layer++) {
        for (const value of model.readTensor(`model.layers.${layer}.self_attn.q_proj.weight`)) {
          sumSquares += value * value;
          count++;
        }
      }
      expect(Math.sqrt(sumSquares / count)).toBeCloseTo(0.228, 2);
    } finally {
      model.close();
    }
  });

  it('rejects an unknown tensor name and reads after close with LoaderError codes', () => {
    const model = openLlama2c(models[0].path);
    expect(() => model.readTensor('lm_head.weight')).toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: 'lm_head.weight' }),
    );
    model.close();
    model.close();
    expect(() => model.readTensor('model.norm.weight')).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_CLOSED' }));
  });

  it('rejects a missing file and a non-string path', () => {
    expect(() => openLlama2c('/nonexistent/model.bin')).toThrow(
      expect.objectContaining({ name: 'LoaderError', code: 'VPTQ_LOADER_NOT_FOUND', path: '/nonexistent/model.bin' }),
    );
    expect(() => openLlama2c(42 as unknown as string)).toThrow(TypeError);
  });
});
