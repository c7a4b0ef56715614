import { decoderLinears, listLinearSpecs } from '@vptq/loader';
import type { LinearSpec } from '@vptq/loader';
import { describe, expect, it } from 'vitest';

import { createDenseLinear } from './dense-linear';
import { loadWeights, readDenseLinear } from './load-weights';
import { LlamaRuntimeError } from './runtime-error';
import { createSyntheticSource } from './test/synthetic-model';

describe('loadWeights', () => {
  it('reads norms and embeddings, builds dense projections and ties the classifier to the embeddings', () => {
    const source = createSyntheticSource({}, 1);
    const weights = loadWeights(source);
    expect(weights.config).toBe(source.config);
    expect(weights.embedTokens).toEqual(source.store.get('model.embed_tokens.weight'));
    expect(weights.layers).toHaveLength(2);
    expect(weights.layers[1].postAttentionNorm).toEqual(source.store.get('model.layers.1.post_attention_layernorm.weight'));
    expect(weights.layers[0].linears.k_proj).toMatchObject({ kind: 'dense', outFeatures: 12, inFeatures: 24 });
    expect((weights.layers[0].linears.down_proj as ReturnType<typeof createDenseLinear>).weight).toEqual(
      source.store.get('model.layers.0.mlp.down_proj.weight'),
    );
    expect((weights.lmHead as ReturnType<typeof createDenseLinear>).weight).toBe(weights.embedTokens);
  });

  it('reads lm_head.weight when the classifier is not tied, and the q/k/v (Qwen2) or q/k/v/o (Llama) biases of attentionBias', () => {
    const source = createSyntheticSource({ tieWordEmbeddings: false, attentionBias: true }, 2);
    const weights = loadWeights(source);
    expect((weights.lmHead as ReturnType<typeof createDenseLinear>).weight).toEqual(source.store.get('lm_head.weight'));
    const layer = weights.layers[1].linears;
    expect((layer.v_proj as ReturnType<typeof createDenseLinear>).bias).toEqual(source.store.get('model.layers.1.self_attn.v_proj.bias'));
    expect((layer.o_proj as ReturnType<typeof createDenseLinear>).bias).toEqual(source.store.get('model.layers.1.self_attn.o_proj.bias'));
    expect((layer.up_proj as ReturnType<typeof createDenseLinear>).bias).toBeUndefined();
    const qwen = loadWeights(createSyntheticSource({ modelType: 'qwen2', attentionBias: true }, 2)).layers[1].linears;
    expect((qwen.v_proj as ReturnType<typeof createDenseLinear>).bias).toHaveLength(12);
    expect((qwen.o_proj as ReturnType<typeof createDenseLinear>).bias).toBeUndefined();
  });

  it('asks createLinear for every projection with its spec, in layer order', () => {
    const source = createSyntheticSource({}, 3);
    const specs: LinearSpec[] = [];
    loadWeights(source, {
      createLinear: (spec, from) => {
        specs.push(spec);
        return readDenseLinear(spec, from);
      },
    });
    expect(specs).toEqual(listLinearSpecs(source.config));
    expect(specs.map((spec) => spec.name).slice(0, 7)).toEqual(decoderLinears.map((linear) => linear.name));
    expect(specs[10]).toEqual({
      layer: 1,
      name: 'o_proj',
      prefix: 'model.layers.1.self_attn.o_proj',
      inFeatures: 24,
      outFeatures: 24,
      bias: false,
      input: 'attention-output',
    });
  });

  it('fails with VPTQ_RUNTIME_BAD_WEIGHTS naming a tensor of the wrong size', () => {
    const source = createSyntheticSource({}, 4);
    source.store.set('model.layers.1.input_layernorm.weight', new Float32Array(23).fill(1));
    expect(() => loadWeights(source)).toThrow(LlamaRuntimeError);
    expect(() => loadWeights(source)).toThrow(
      /synthetic: tensor model\.layers\.1\.input_layernorm\.weight must hold 24 f32 values for this config \(got 23 f32 values\)/,
    );
  });

  it('fails with VPTQ_RUNTIME_BAD_WEIGHTS when createLinear returns the wrong shape', () => {
    const source = createSyntheticSource({}, 5);
    const attempt = (): unknown =>
      loadWeights(source, { createLinear: (spec) => createDenseLinear(new Float32Array(spec.inFeatures), { outFeatures: 1, inFeatures: spec.inFeatures }) });
    expect(attempt).toThrow(/createLinear must return a Linear of 24 × 24 for model\.layers\.0\.self_attn\.q_proj \(got 1 × 24\)/);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'VPTQ_RUNTIME_BAD_WEIGHTS', tensor: 'model.layers.0.self_attn.q_proj.weight', layer: 0 });
    }
  });

  it('rejects a config that cannot run', () => {
    const source = createSyntheticSource({}, 6);
    expect(() => loadWeights({ ...source, config: { ...source.config, numKeyValueHeads: 3 } })).toThrow(
      /config\.numKeyValueHeads must divide numAttentionHeads \(got 3 and 4\)/,
    );
    expect(() => loadWeights({ ...source, config: { ...source.config, headDim: 5 } })).toThrow(/config\.headDim must be even/);
  });
});
