import { join } from 'node:path';

import { makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { decoderLinears, listLayerTensorNames, listLinearSpecs } from './decoder-linears';
import { editJsonFile, expectLoaderError } from './test/expect-loader-error';
import type { LlamaConfig } from './model-types';
import { openHfModel } from './open-hf-model';
import { openVptqModel } from './open-vptq-model';
import { writeTinyHfModel } from './test/write-tiny-hf-model';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';

const root = makeTempDir('vptq-loader-linears-');

// hidden 16, 4 query heads of 6 (q 24), 2 KV heads (kv 12), FFN 40: every width differs, so a swapped shape shows.
const config: LlamaConfig = {
  modelType: 'llama',
  hiddenSize: 16,
  intermediateSize: 40,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  headDim: 6,
  vocabSize: 10,
  maxPositionEmbeddings: 32,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeLayout: 'half',
  tieWordEmbeddings: false,
  attentionBias: false,
};

/** Which projections carry a bias, as `name` strings of layer 0. */
function biased(overrides: Partial<LlamaConfig>): string[] {
  return listLinearSpecs({ ...config, ...overrides })
    .filter((spec) => spec.layer === 0 && spec.bias)
    .map((spec) => spec.name);
}

describe('decoderLinears / listLinearSpecs', () => {
  it('lists the seven projections of every layer with their HF prefix, [out, in] shape and shared input', () => {
    const specs = listLinearSpecs(config);
    expect(specs).toHaveLength(2 * 7);
    expect(specs.slice(7).map(({ layer, name, prefix, outFeatures, inFeatures, input }) => [layer, name, prefix, outFeatures, inFeatures, input])).toEqual([
      [1, 'q_proj', 'model.layers.1.self_attn.q_proj', 24, 16, 'attention-input'],
      [1, 'k_proj', 'model.layers.1.self_attn.k_proj', 12, 16, 'attention-input'],
      [1, 'v_proj', 'model.layers.1.self_attn.v_proj', 12, 16, 'attention-input'],
      [1, 'o_proj', 'model.layers.1.self_attn.o_proj', 16, 24, 'attention-output'],
      [1, 'gate_proj', 'model.layers.1.mlp.gate_proj', 40, 16, 'mlp-input'],
      [1, 'up_proj', 'model.layers.1.mlp.up_proj', 40, 16, 'mlp-input'],
      [1, 'down_proj', 'model.layers.1.mlp.down_proj', 16, 40, 'mlp-hidden'],
    ]);
    expect(specs.slice(0, 7).map((spec) => spec.name)).toEqual(decoderLinears.map((linear) => linear.name));
  });

  it('gives biases as transformers does: none by default, q/k/v/o with attention_bias, q/k/v only for Qwen2', () => {
    expect(biased({})).toEqual([]);
    expect(biased({ attentionBias: true })).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    expect(biased({ attentionBias: true, modelType: 'qwen2' })).toEqual(['q_proj', 'k_proj', 'v_proj']);
  });

  it('names the tensors of one layer, biases included where the architecture has them', () => {
    expect(listLayerTensorNames({ ...config, modelType: 'qwen2', attentionBias: true }, 1)).toEqual([
      'model.layers.1.input_layernorm.weight',
      'model.layers.1.post_attention_layernorm.weight',
      'model.layers.1.self_attn.q_proj.weight',
      'model.layers.1.self_attn.q_proj.bias',
      'model.layers.1.self_attn.k_proj.weight',
      'model.layers.1.self_attn.k_proj.bias',
      'model.layers.1.self_attn.v_proj.weight',
      'model.layers.1.self_attn.v_proj.bias',
      'model.layers.1.self_attn.o_proj.weight',
      'model.layers.1.mlp.gate_proj.weight',
      'model.layers.1.mlp.up_proj.weight',
      'model.layers.1.mlp.down_proj.weight',
    ]);
    expect(() => listLayerTensorNames(config, 2)).toThrow(/layer must be an integer in \[0, 2\) \(got 2\)/);
  });

  it('projections that share an input share its width', () => {
    const byInput = new Map<string, number>();
    for (const spec of listLinearSpecs(config)) {
      expect(byInput.get(spec.input) ?? spec.inFeatures, spec.prefix).toBe(spec.inFeatures);
      byInput.set(spec.input, spec.inFeatures);
    }
    expect([...byInput.keys()]).toEqual(['attention-input', 'attention-output', 'mlp-input', 'mlp-hidden']);
  });
});

describe('Llama with attention_bias', () => {
  it('opens an HF directory with q/k/v/o biases and requires the o_proj bias', () => {
    const written = writeTinyHfModel(join(root, 'hf'), { config: { attention_bias: true } });
    const model = openHfModel(written.dir);
    model.close();
    expect(model.config).toMatchObject({ modelType: 'llama', attentionBias: true });
    const names = model.tensors.map((tensor) => tensor.name);
    for (const projection of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) expect(names).toContain(`model.layers.1.self_attn.${projection}.bias`);
    expect(model.tensors.find((tensor) => tensor.name === 'model.layers.0.self_attn.o_proj.bias')?.shape).toEqual([8]);

    // Qwen2's q/k/v biases under a Llama config: transformers' LlamaAttention would want o_proj's too.
    const qwen = writeTinyHfModel(join(root, 'qwen'), { architecture: 'Qwen2ForCausalLM' });
    editJsonFile(join(qwen.dir, 'config.json'), (json) => Object.assign(json, { architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: true }));
    expectLoaderError(
      () => openHfModel(qwen.dir),
      { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: 'model.layers.0.self_attn.o_proj.bias' },
      /required tensor model\.layers\.0\.self_attn\.o_proj\.bias \[8\] is missing/,
    );
  });

  it('opens a VPTQ directory whose o_proj layers carry a bias', () => {
    const written = writeTinyVptqModel(join(root, 'vptq'), { config: { attention_bias: true } });
    const model = openVptqModel(written.dir);
    try {
      expect(model.quantizedLayers.filter((layer) => layer.config.bias).map((layer) => layer.name.slice('model.layers.0.self_attn.'.length))).toEqual([
        'q_proj', 'k_proj', 'v_proj', 'o_proj', 'q_proj', 'k_proj', 'v_proj', 'o_proj',
      ]);
      const bias = written.layers.get('model.layers.1.self_attn.o_proj')?.bias;
      expect(bias).toHaveLength(16);
      expect(model.readTensor('model.layers.1.self_attn.o_proj.bias')).toEqual(bias);
    } finally {
      model.close();
    }
  });
});
