import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir, maxAbsDifference } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { openVptqModel } from './open-vptq-model';
import { fullLayerConfig, writeTinyVptqModel } from './test/write-tiny-vptq-model';
import type { TinyVptqLayer, TinyVptqModel, TinyVptqModelOptions } from './test/write-tiny-vptq-model';

const root = makeTempDir('vptq-loader-vptq-');
let counter = 0;

function tinyModel(options: TinyVptqModelOptions = {}): TinyVptqModel {
  return writeTinyVptqModel(join(root, `model-${counter++}`), options);
}

/**
 * W[o][c] straight from the spec §5.4 formula, on the fixture's unpacked indices and config JSON (no packing,
 * no pack-format code): p = invperm[c]; outlier columns read Co; the rest C[g][main] + Cr[g][res]; then norm.
 */
function referenceWeight(layer: TinyVptqLayer): Float32Array {
  const json = layer.json as {
    vector_lens: [number, number];
    num_centroids: [number, number];
    num_res_centroids: [number, number];
    group_size: number;
    outlier_size: number;
    enable_norm: boolean;
  };
  const [vo, v] = json.vector_lens;
  const [Ko, K] = json.num_centroids;
  const Kr = json.num_res_centroids[1];
  const S = json.group_size;
  const O = json.outlier_size;
  const out = layer.outFeatures;
  const inFeatures = layer.inFeatures;
  const R = Math.ceil(out / v);
  const invperm = new Array<number>(inFeatures);
  for (let p = 0; p < inFeatures; p++) invperm[layer.perm ? layer.perm[p] : p] = p;
  const weight = new Float32Array(out * inFeatures);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inFeatures; c++) {
      const p = invperm[c];
      let w: number;
      if (vo > 1 && Ko > 0 && p < O) {
        w = (layer.outlierCentroids as Float32Array)[(layer.outlierIndices as Uint16Array)[Math.floor(o / vo) * O + p] * vo + (o % vo)];
      } else {
        const g = Math.floor((p - O) / S);
        const s = (p - O) % S;
        const at = (g * R + Math.floor(o / v)) * S + s;
        w = layer.centroids[(g * K + layer.main[at]) * v + (o % v)];
        if (Kr > 0) w += (layer.residualCentroids as Float32Array)[(g * Kr + (layer.residual as Uint32Array)[at]) * v + (o % v)];
      }
      if (json.enable_norm) w = w * (layer.weightScale as Float32Array)[c] + (layer.weightBias as Float32Array)[c];
      weight[o * inFeatures + c] = w;
    }
  }
  return weight;
}

/** The spec §5.3 packing, bit by bit: field s = main | res << ib at stream bit s·tb of its (g, r) row, LSB first. */
function referencePacking(layer: TinyVptqLayer): Uint32Array {
  const json = layer.json as { vector_lens: [number, number]; num_centroids: [number, number]; num_res_centroids: [number, number]; group_num: number; group_size: number };
  const ib = Math.log2(json.num_centroids[1]);
  const rb = json.num_res_centroids[1] > 0 ? Math.log2(json.num_res_centroids[1]) : 0;
  const tb = ib + rb;
  const S = json.group_size;
  const rows = json.group_num * Math.ceil(layer.outFeatures / json.vector_lens[1]);
  const P = Math.ceil((S * tb) / 32);
  const words = new Uint32Array(rows * P);
  for (let row = 0; row < rows; row++) {
    for (let s = 0; s < S; s++) {
      const field = layer.main[row * S + s] + (rb > 0 ? (layer.residual as Uint32Array)[row * S + s] * 2 ** ib : 0);
      for (let b = 0; b < tb; b++) {
        if (Math.floor(field / 2 ** b) % 2 === 1) {
          const k = s * tb + b;
          words[row * P + (k >> 5)] |= 1 << (k & 31);
        }
      }
    }
  }
  return words;
}

function checkModel(written: TinyVptqModel): void {
  const model = openVptqModel(written.dir);
  try {
    expect(model.format).toBe('vptq');
    expect(model.config.ropeLayout).toBe('half');
    expect(model.quantizedLayers.map((layer) => layer.name)).toEqual([...written.layers.keys()]);
    const expectedNames = [...written.plain.keys(), ...[...written.layers.keys()].map((module) => `${module}.weight`)];
    expect(model.tensors.map((tensor) => tensor.name).sort()).toEqual(expectedNames.sort());
    for (const tensor of model.tensors) {
      const layer = written.layers.get(tensor.name.replace(/\.weight$/, ''));
      if (layer === undefined) {
        const plain = written.plain.get(tensor.name);
        expect(tensor.shape).toEqual(plain?.shape);
        expect(model.readTensor(tensor.name), tensor.name).toEqual(plain?.values);
        continue;
      }
      expect(tensor).toEqual({ name: tensor.name, dtype: 'F32', shape: [layer.outFeatures, layer.inFeatures] });
      const weight = model.readTensor(tensor.name);
      expect(weight).toBeInstanceOf(Float32Array);
      expect(weight.length).toBe(layer.outFeatures * layer.inFeatures);
      expect(maxAbsDifference(weight, referenceWeight(layer)), tensor.name).toBeLessThanOrEqual(1e-6);
    }
  } finally {
    model.close();
  }
}

describe('openVptqModel', () => {
  it.each([
    ['shared', 'F16', 'I16', 1],
    ['per-layer', 'BF16', 'I64', 2],
    ['mixed', 'F16', 'I64', 1],
    ['legacy', 'BF16', 'I16', 1],
    ['text-config', 'F32', 'I16', 3],
  ] as const)('dequantizes %s configs with %s codebooks and %s perm from %i shard(s) as the spec formula does', (style, floatDtype, permDtype, shards) => {
    checkModel(tinyModel({ style, floatDtype, permDtype, shards, seed: counter + 3 }));
  });

  it('reads per-layer configs that differ between layers and leaves uncovered projections dense', () => {
    const written = tinyModel({
      style: 'per-layer',
      floatDtype: 'BF16',
      layerConfig: (module, out, inFeatures, layer) => {
        if (module.endsWith('down_proj') && layer === 1) return undefined;
        const base = fullLayerConfig(out, inFeatures);
        // Layer 1: no outliers, no norm, no perm, one group, no residual, v 5 (24 % 5 and 16 % 5 ≠ 0).
        return layer === 0
          ? base
          : { ...base, vector_lens: [-1, 5], num_centroids: [-1, 32], num_res_centroids: [-1, -1], group_num: 1, group_size: inFeatures, outlier_size: 0, enable_norm: false, enable_perm: false };
      },
    });
    checkModel(written);
    const model = openVptqModel(written.dir);
    model.close();
    expect(model.quantizedLayers).toHaveLength(13);
    expect(model.tensors.find((tensor) => tensor.name === 'model.layers.1.mlp.down_proj.weight')).toEqual({
      name: 'model.layers.1.mlp.down_proj.weight',
      dtype: 'BF16',
      shape: [16, 24],
    });
    expect(model.quantizedLayers[7].config).toMatchObject({ vectorLength: 5, numCentroids: 32, groupNum: 1, enablePerm: false });
  });

  it('returns the packed tensors of a layer as stored, indices matching a bit-by-bit packing', () => {
    const written = tinyModel({ style: 'mixed', floatDtype: 'BF16', permDtype: 'I64' });
    const model = openVptqModel(written.dir);
    try {
      for (const { name, config } of model.quantizedLayers) {
        const layer = written.layers.get(name) as TinyVptqLayer;
        const read = model.readQuantizedLayer(name);
        expect(read.config).toBe(config);
        expect(read.tensors.indices).toEqual(referencePacking(layer));
        expect(read.tensors.perm).toEqual(layer.perm);
        expect(read.tensors.outlierIndices).toEqual(layer.outlierIndices);
        expect(read.tensors.centroids.dtype).toBe('BF16');
        expect(Float32Array.from(read.tensors.centroids.data, (bits) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0])).toEqual(layer.centroids);
        expect(read.tensors.bias).toBeUndefined();
      }
      const override = model.quantizedLayers.find((layer) => layer.name === 'model.layers.1.mlp.gate_proj');
      expect(override?.config).toMatchObject({ numCentroids: 8, groupNum: 1, outlierSize: 0 });
      expect(model.quantizedLayers.find((layer) => layer.name === 'model.layers.0.mlp.gate_proj')?.config).toMatchObject({ numCentroids: 16, groupNum: 2 });
    } finally {
      model.close();
    }
  });

  it('handles tb = 32 (K = Kr = 65536, v = 1) with unsigned fields', () => {
    const written = tinyModel({
      style: 'per-layer',
      layerConfig: (module, out, inFeatures) =>
        module === 'model.layers.0.self_attn.k_proj'
          ? { ...fullLayerConfig(out, inFeatures), vector_lens: [-1, 1], num_centroids: [-1, 65536], num_res_centroids: [-1, 65536], group_num: 1, group_size: inFeatures, outlier_size: 0 }
          : undefined,
    });
    const layer = written.layers.get('model.layers.0.self_attn.k_proj') as TinyVptqLayer;
    expect(layer.main.some((index) => index >= 32768) && layer.residual?.some((index) => index >= 32768)).toBe(true);
    checkModel(written);
  });

  it('passes Qwen2 q/k/v biases through and takes bias presence from the architecture, as transformers does', () => {
    const written = tinyModel({ architecture: 'Qwen2ForCausalLM', style: 'shared' });
    // The algorithm branch may serialize `bias` oddly; transformers ignores it and asks the module.
    const configPath = join(written.dir, 'config.json');
    const json = JSON.parse(readFileSync(configPath, 'utf8'));
    json.quantization_config.shared_layer_config.q_proj.bias = null;
    writeFileSync(configPath, JSON.stringify(json));
    const model = openVptqModel(written.dir);
    try {
      expect(model.quantizedLayers.filter((layer) => layer.config.bias).map((layer) => layer.name)).toEqual([
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.self_attn.k_proj',
        'model.layers.0.self_attn.v_proj',
        'model.layers.1.self_attn.q_proj',
        'model.layers.1.self_attn.k_proj',
        'model.layers.1.self_attn.v_proj',
      ]);
      const bias = written.layers.get('model.layers.1.self_attn.q_proj')?.bias;
      expect(model.tensors.find((tensor) => tensor.name === 'model.layers.1.self_attn.q_proj.bias')).toEqual({
        name: 'model.layers.1.self_attn.q_proj.bias',
        dtype: 'F16',
        shape: [16],
      });
      expect(model.readTensor('model.layers.1.self_attn.q_proj.bias')).toEqual(bias);
      expect(model.readQuantizedLayer('model.layers.1.self_attn.q_proj').tensors.bias?.data).toHaveLength(16);
    } finally {
      model.close();
    }
    checkModel(written);
  });

  it('reads a directory laid out like a published VPTQ-community model, ignoring unknown layer keys', () => {
    // Meta-Llama-3.1-8B-Instruct-v8-k65536-256-woft: config_for_layers with every module, keys sorted as
    // json.dumps(sort_keys=True) writes them, bias null, one group spanning all columns, norm and perm on,
    // no outliers; here v 8, K 256, Kr 16 on tiny shapes, plus the algorithm branch's extra keys.
    const written = tinyModel({
      style: 'per-layer',
      floatDtype: 'BF16',
      layerConfig: (_module, out, inFeatures) => ({
        bias: null,
        enable_norm: true,
        enable_perm: true,
        enable_proxy_error: false,
        group_num: 1,
        group_size: inFeatures,
        in_features: inFeatures,
        indices_as_float: false,
        is_indice_packed: true,
        norm_dim: 0,
        num_centroids: [-1, 256],
        num_res_centroids: [-1, 16],
        out_features: out,
        outlier_size: 0,
        vector_lens: [-1, 8],
        vector_quant_dim: 'out',
      }),
      config: {
        _name_or_path: 'meta-llama/Meta-Llama-3.1-8B-Instruct',
        attention_bias: false,
        attention_dropout: 0,
        eos_token_id: [128001, 128008, 128009],
        initializer_range: 0.02,
        mlp_bias: false,
        pretraining_tp: 1,
        transformers_version: '4.44.2',
        use_cache: true,
      },
    });
    const configPath = join(written.dir, 'config.json');
    const json = JSON.parse(readFileSync(configPath, 'utf8'));
    json.quantization_config = { config_for_layers: json.quantization_config.config_for_layers, quant_method: 'vptq' };
    writeFileSync(configPath, JSON.stringify(json));
    checkModel(written);
    const model = openVptqModel(written.dir);
    model.close();
    expect(model.quantizedLayers).toHaveLength(14);
    expect(model.quantizedLayers[0]).toEqual({
      name: 'model.layers.0.self_attn.q_proj',
      config: {
        inFeatures: 16,
        outFeatures: 16,
        vectorLength: 8,
        numCentroids: 256,
        numResidualCentroids: 16,
        outlierVectorLength: 0,
        numOutlierCentroids: 0,
        groupNum: 1,
        groupSize: 16,
        outlierSize: 0,
        enableNorm: true,
        enablePerm: true,
        indicesAsFloat: false,
        bias: false,
      },
    });
    expect(model.config.eosTokenId).toBe(128001);
  });
});
