import { join } from 'node:path';

import { makeTempDir, publishedConfigs, shrinkPublishedConfig } from '@vptq/test-utils';
import type { PublishedModel } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { llamaConfigToHfJson } from './llama-config-to-hf-json';
import type { LlamaConfig } from './model-types';
import { openHfModel } from './open-hf-model';
import { parseHfConfig } from './parse-hf-config';
import { expectLoaderError } from './test/expect-loader-error';
import { writeTinyHfModel } from './test/write-tiny-hf-model';

const path = '/models/x/config.json';
const parse = (json: Record<string, unknown>): LlamaConfig => parseHfConfig('parseHfConfig', path, json);
const llama = (): Record<string, unknown> => structuredClone(publishedConfigs['Llama-3.2-1B']) as Record<string, unknown>;
const qwen = (): Record<string, unknown> => structuredClone(publishedConfigs['Qwen2.5-0.5B']) as Record<string, unknown>;
const mistral = (): Record<string, unknown> => structuredClone(publishedConfigs['Mistral-7B-v0.1']) as Record<string, unknown>;

function expectBadConfig(json: Record<string, unknown>, field: string, message: RegExp): void {
  expectLoaderError(() => parse(json), { code: 'VPTQ_LOADER_BAD_CONFIG', field, path }, message);
}

describe('parseHfConfig on the published configs', () => {
  it('Llama-3.2-1B: llama3 RoPE scaling, head_dim, tied embeddings, no biases', () => {
    expect(parse(llama())).toEqual({
      modelType: 'llama',
      hiddenSize: 2048,
      intermediateSize: 8192,
      numHiddenLayers: 16,
      numAttentionHeads: 32,
      numKeyValueHeads: 8,
      headDim: 64,
      vocabSize: 128256,
      maxPositionEmbeddings: 131072,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeLayout: 'half',
      tieWordEmbeddings: true,
      attentionBias: false,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      bosTokenId: 128000,
      eosTokenId: 128001,
    });
  });

  it('Qwen2.5-0.5B: q/k/v biases, tied, and no window because use_sliding_window is false', () => {
    const config = parse(qwen());
    expect(config).toMatchObject({ modelType: 'qwen2', headDim: 64, attentionBias: true, tieWordEmbeddings: true, ropeTheta: 1e6 });
    expect(config.slidingWindow).toBeUndefined();
    expect(config.ropeScaling).toBeUndefined();
  });

  it('Mistral-7B-v0.1: a 4096-key window in every layer, no biases', () => {
    const config = parse(mistral());
    expect(config).toMatchObject({ modelType: 'mistral', headDim: 128, attentionBias: false, tieWordEmbeddings: false });
    expect(config.slidingWindow).toEqual({ size: 4096, layers: Array.from({ length: 32 }, (_, layer) => layer) });
  });
});

describe('parseHfConfig RoPE fields', () => {
  it('reads the older "type" key and transformers 5 rope_parameters (rope_theta inside) like rope_scaling', () => {
    const expected = parse(llama());
    const { rope_scaling: scaling, rope_theta: theta, ...rest } = llama();
    const { rope_type: type, ...keys } = scaling as Record<string, unknown>;
    expect(parse({ ...rest, rope_theta: theta, rope_scaling: { ...keys, type } })).toEqual(expected);
    expect(parse({ ...rest, rope_parameters: { ...keys, rope_type: type, rope_theta: theta } })).toEqual(expected);
    expect(parse({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 1234 } })).toMatchObject({ ropeTheta: 1234 });
    expect(parse({ ...rest, rope_theta: theta, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeUndefined();
  });

  it('takes original_max_position_embeddings from max_position_embeddings when absent, as transformers 5 does', () => {
    const json = llama();
    delete (json.rope_scaling as Record<string, unknown>).original_max_position_embeddings;
    expect(parse(json).ropeScaling?.originalMaxPositionEmbeddings).toBe(131072);
  });

  it.each([
    [{ rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 }, 'rope_scaling.rope_type', /must be "default" or "llama3", the supported RoPE types \(got "yarn"\)/],
    [{ type: 'linear', factor: 2 }, 'rope_scaling.type', /must be "default" or "llama3".*\(got "linear"\)/],
    [{ rope_type: 'dynamic', factor: 2 }, 'rope_scaling.rope_type', /\(got "dynamic"\)/],
    [{ rope_type: 'llama3', low_freq_factor: 1, high_freq_factor: 4 }, 'rope_scaling.factor', /must be a number ≥ 1 \(got nothing\)/],
    [{ rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4 }, 'rope_scaling.high_freq_factor', /must be a number > low_freq_factor \(4\) \(got 4\)/],
    [{ rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 0.5 }, 'rope_scaling.original_max_position_embeddings', /positive integer/],
    [{ rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, partial_rotary_factor: 0.5 }, 'rope_scaling.partial_rotary_factor', /expected 1, got 0.5/],
    [{ rope_type: 'default', rope_theta: 10000 }, 'rope_scaling.rope_theta', /must equal the top-level rope_theta when both are given \(got 10000 and 500000\)/],
    ['llama3', 'rope_scaling', /must be an object or null \(got "llama3"\)/],
  ])('rejects rope_scaling %j naming %s', (scaling, field, message) => {
    expectBadConfig({ ...llama(), rope_scaling: scaling }, field, message);
  });

  it('rejects a partial_rotary_factor other than 1 at the top level', () => {
    expectBadConfig({ ...qwen(), partial_rotary_factor: 0.5 }, 'partial_rotary_factor', /RoPE must rotate the whole head/);
    expect(parse({ ...qwen(), partial_rotary_factor: 1 }).ropeTheta).toBe(1e6);
  });
});

describe('parseHfConfig sliding window and biases', () => {
  const layers = (count: number, from = 0) => Array.from({ length: count - from }, (_, index) => from + index);

  it('Mistral: window 4096 when the key is absent (transformers default), none when it is null', () => {
    const json = mistral();
    delete json.sliding_window;
    expect(parse(json).slidingWindow).toEqual({ size: 4096, layers: layers(32) });
    expect(parse({ ...mistral(), sliding_window: null }).slidingWindow).toBeUndefined();
  });

  it('Mistral: rejects attention_bias, layer_types and a malformed window', () => {
    expectBadConfig({ ...mistral(), attention_bias: true }, 'attention_bias', /must be false or absent for MistralForCausalLM/);
    expect(parse({ ...mistral(), attention_bias: false }).attentionBias).toBe(false);
    expectBadConfig({ ...mistral(), layer_types: ['full_attention'] }, 'layer_types', /not supported for MistralForCausalLM: transformers ignores it/);
    expectBadConfig({ ...mistral(), sliding_window: 0 }, 'sliding_window', /must be a positive integer or null \(got 0\)/);
  });

  it('Qwen2: with use_sliding_window the layers from max_window_layers on, or those layer_types marks', () => {
    expect(parse({ ...qwen(), use_sliding_window: true }).slidingWindow).toBeUndefined(); // max_window_layers 24 of 24
    expect(parse({ ...qwen(), use_sliding_window: true, max_window_layers: 20 }).slidingWindow).toEqual({ size: 32768, layers: layers(24, 20) });
    const types = layers(24).map((layer) => (layer % 3 === 2 ? 'sliding_attention' : 'full_attention'));
    expect(parse({ ...qwen(), use_sliding_window: true, sliding_window: 512, layer_types: types }).slidingWindow).toEqual({
      size: 512,
      layers: layers(24).filter((layer) => layer % 3 === 2),
    });
    // transformers 5 writes layer_types into saved configs; all full attention keeps the model windowless.
    expect(parse({ ...qwen(), layer_types: layers(24).map(() => 'full_attention') }).slidingWindow).toBeUndefined();
  });

  it('Qwen2: rejects sliding layers without a window and malformed keys', () => {
    const types = layers(24).map((layer) => (layer >= 12 ? 'sliding_attention' : 'full_attention'));
    expectBadConfig({ ...qwen(), layer_types: types }, 'layer_types', /marks layer 12 "sliding_attention", but there is no window to apply \(use_sliding_window false/);
    expectBadConfig({ ...qwen(), layer_types: ['full_attention'] }, 'layer_types', /for each of the 24 layers/);
    expectBadConfig({ ...qwen(), use_sliding_window: 'yes' }, 'use_sliding_window', /must be a boolean/);
    expectBadConfig({ ...qwen(), max_window_layers: -1 }, 'max_window_layers', /non-negative integer/);
  });

  it('Llama: ignores sliding_window, as transformers\' LlamaModel does', () => {
    expect(parse({ ...llama(), sliding_window: 16 }).slidingWindow).toBeUndefined();
  });
});

describe('llamaConfigToHfJson writes the RoPE scaling and the window back', () => {
  it.each([
    ['Llama-3.2-1B', {}],
    ['Mistral-7B-v0.1', {}],
    ['Mistral-7B-v0.1', { sliding_window: null }],
    ['Qwen2.5-0.5B', { use_sliding_window: true, max_window_layers: 20, sliding_window: 128 }],
  ] as const)('%s %j round-trips', (model, overrides) => {
    const config = parse({ ...publishedConfigs[model as PublishedModel], ...overrides });
    expect(parse(llamaConfigToHfJson(config))).toEqual(config);
  });

  it('rejects a window Mistral cannot express', () => {
    const config = parse(mistral());
    expect(() => llamaConfigToHfJson({ ...config, slidingWindow: { size: 8, layers: [1] } })).toThrow(
      /config\.slidingWindow cannot be written for mistral \(layers 1 of 32\)/,
    );
  });
});

describe('openHfModel on shrunk published configs', () => {
  const root = makeTempDir('vptq-loader-families-');
  const sizes = { hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 1, vocabSize: 40, maxPositionEmbeddings: 64 };

  it.each([
    ['Llama-3.2-1B', { rope_scaling: { ...publishedConfigs['Llama-3.2-1B'].rope_scaling, original_max_position_embeddings: 32 } }],
    ['Qwen2.5-0.5B', { use_sliding_window: true, max_window_layers: 1, sliding_window: 6 }],
    ['Mistral-7B-v0.1', { sliding_window: 6 }],
  ] as const)('%s opens with the tensors its config implies', (model, overrides) => {
    const ratio = model === 'Qwen2.5-0.5B' ? 7 : 4;
    const json = shrinkPublishedConfig(model, { ...sizes, numAttentionHeads: ratio, hiddenSize: ratio * 8 }, overrides);
    const written = writeTinyHfModel(join(root, model), { architecture: (json.architectures as string[])[0] as 'LlamaForCausalLM', config: json });
    const source = openHfModel(written.dir);
    source.close();
    expect(source.config).toEqual(parse(json));
    expect(source.tensors.map((tensor) => tensor.name).includes('lm_head.weight')).toBe(model === 'Mistral-7B-v0.1');
    expect(source.tensors.some((tensor) => tensor.name.endsWith('q_proj.bias'))).toBe(model === 'Qwen2.5-0.5B');
  });
});
