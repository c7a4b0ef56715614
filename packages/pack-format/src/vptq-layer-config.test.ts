import { describe, expect, it } from 'vitest';

import { getVptqLayerLayout } from './get-vptq-layer-layout';
import { PackFormatError } from './pack-format-error';
import { parseVptqLayerConfig, toVptqLayerConfigJson, type VptqLayerConfigJson } from './vptq-layer-config';
import {
  findVptqLayerConfig,
  parseVptqQuantizationConfig,
  toVptqQuantizationConfigJson,
} from './vptq-quantization-config';

// Shaped like a published VPTQ-community config entry (Meta-Llama-3.1-8B-Instruct-v8-k65536-256-woft q_proj),
// with algorithm-branch extras that the reader must ignore.
const published = {
  bias: false,
  enable_norm: true,
  enable_perm: true,
  group_num: 1,
  group_size: 4096,
  in_features: 4096,
  indices_as_float: false,
  is_indice_packed: true,
  num_centroids: [-1, 65536],
  num_res_centroids: [-1, 256],
  out_features: 4096,
  outlier_size: 0,
  vector_lens: [-1, 8],
  norm_dim: 0,
  enable_proxy_error: false,
};

const withOutliers: VptqLayerConfigJson = {
  in_features: 20,
  out_features: 20,
  vector_lens: [4, 8],
  num_centroids: [16, 256],
  num_res_centroids: [-1, 1024],
  group_num: 2,
  group_size: 7,
  outlier_size: 6,
  enable_norm: true,
  enable_perm: true,
  is_indice_packed: true,
  indices_as_float: false,
  bias: true,
};

function configError(run: () => unknown): PackFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PackFormatError);
    expect((error as PackFormatError).code).toBe('VPTQ_PACK_CONFIG');
    return error as PackFormatError;
  }
  throw new Error('expected a VPTQ_PACK_CONFIG error');
}

describe('parseVptqLayerConfig and getVptqLayerLayout', () => {
  it('reads a published layer config and derives the spec §5.4 worked example', () => {
    const config = parseVptqLayerConfig(published, 'model.layers.0.self_attn.q_proj');
    expect(config).toMatchObject({ vectorLength: 8, numCentroids: 65536, numResidualCentroids: 256, outlierVectorLength: 0, numOutlierCentroids: 0, enableNorm: true });
    const layout = getVptqLayerLayout(config);
    expect(layout).toMatchObject({
      vectorRows: 512,
      paddingRows: 0,
      indexBits: 16,
      residualBits: 8,
      totalBits: 24,
      rowWords: 3072,
      hasResidual: true,
      hasOutliers: false,
      outlierVectorRows: 0,
    });
  });

  it('derives padding, outlier rows and straddling field widths', () => {
    const layout = getVptqLayerLayout(parseVptqLayerConfig(withOutliers, 'x'));
    expect(layout).toEqual({
      inFeatures: 20,
      outFeatures: 20,
      vectorLength: 8,
      numCentroids: 256,
      numResidualCentroids: 1024,
      hasResidual: true,
      hasOutliers: true,
      outlierVectorLength: 4,
      numOutlierCentroids: 16,
      groupNum: 2,
      groupSize: 7,
      enableNorm: true,
      enablePerm: true,
      indicesAsFloat: false,
      bias: true,
      outlierSize: 6,
      vectorRows: 3,
      paddingRows: 4,
      outlierVectorRows: 5,
      outlierPaddingRows: 0,
      indexBits: 8,
      residualBits: 10,
      totalBits: 18,
      rowWords: 4,
    });
  });

  it('round-trips through the snake_case JSON', () => {
    const config = parseVptqLayerConfig(withOutliers, 'x');
    expect(toVptqLayerConfigJson(config)).toEqual(withOutliers);
    const minimal = { ...published } as Record<string, unknown>;
    delete minimal.is_indice_packed;
    delete minimal.indices_as_float;
    expect(parseVptqLayerConfig(minimal, 'y')).toMatchObject({ indicesAsFloat: false });
    // Unknown keys (norm_dim, enable_proxy_error) are dropped; every known one is written back unchanged.
    const { norm_dim: _normDim, enable_proxy_error: _proxy, ...known } = published as Record<string, unknown>;
    expect(toVptqLayerConfigJson(parseVptqLayerConfig(minimal, 'y'))).toEqual(known);
  });

  it('reads every disabled marker as 0 and writes it back as -1', () => {
    // vo ≤ 1 or Ko ≤ 0 disables the outlier part in the reference (spec §5.1); Kr ≤ 0 disables the residual.
    for (const [vectorLens, numCentroids, numResCentroids] of [
      [[-1, 8], [-1, 65536], [-1, -1]],
      [[1, 8], [256, 65536], [-1, 0]],
      [[4, 8], [0, 65536], [-1, -7]],
    ]) {
      const config = parseVptqLayerConfig({ ...published, vector_lens: vectorLens, num_centroids: numCentroids, num_res_centroids: numResCentroids }, 'z');
      expect(config).toMatchObject({ outlierVectorLength: 0, numOutlierCentroids: 0, numResidualCentroids: 0 });
      expect(toVptqLayerConfigJson(config)).toMatchObject({ vector_lens: [-1, 8], num_centroids: [-1, 65536], num_res_centroids: [-1, -1] });
    }
  });

  it('treats bias with Python truthiness', () => {
    expect(parseVptqLayerConfig({ ...published, bias: 'tensor([...])' }, 'b').bias).toBe(true);
    expect(parseVptqLayerConfig({ ...published, bias: null }, 'b').bias).toBe(false);
    const noBias = { ...published } as Record<string, unknown>;
    delete noBias.bias;
    expect(parseVptqLayerConfig(noBias, 'b').bias).toBe(false);
  });

  it.each([
    [{ num_centroids: [-1, 1000] }, /num_centroids\[1\] must be a power of two ≥ 2 \(got 1000\)/],
    [{ num_centroids: [-1, 1] }, /num_centroids\[1\] must be a power of two/],
    [{ num_res_centroids: [-1, 300] }, /num_res_centroids\[1\] must be a power of two/],
    [{ num_res_centroids: [4, 256] }, /no residual for outliers/],
    [{ num_centroids: [-1, 65536], num_res_centroids: [-1, 131072] }, /at most 32 bits \(got 33\)/],
    [{ group_size: 4000 }, /outlier_size \+ group_num · group_size must equal in_features \(got 0 \+ 1 · 4000 = 4000, in_features = 4096\)/],
    [{ outlier_size: 96, group_size: 4000 }, /outlier_size must be 0 when the outlier part is disabled/],
    [{ vector_lens: [4, 8], num_centroids: [1000, 65536], outlier_size: 96, group_size: 4000 }, /num_centroids\[0\] must be a power of two/],
    [{ vector_lens: [8] }, /vector_lens must be a pair of integers/],
    [{ vector_lens: [-1, 0] }, /vector_lens\[1\] must be a positive integer/],
    [{ in_features: '4096' }, /in_features must be an integer \(got "4096"\)/],
    [{ enable_norm: 1 }, /enable_norm must be true or false/],
    [{ is_indice_packed: false }, /unpacked legacy layout is not supported/],
    [{ in_features: 131072, group_size: 131072 }, /at most 65536 with enable_perm/],
    [{ vector_quant_dim: 'in' }, /vector_quant_dim must be "out"/],
  ])('rejects %j', (change, message) => {
    const error = configError(() => parseVptqLayerConfig({ ...published, ...change }, 'model.layers.1.mlp.up_proj'));
    expect(error.message).toMatch(/^layer "model\.layers\.1\.mlp\.up_proj": /);
    expect(error.message).toMatch(message);
    expect(error.tensor).toBe('model.layers.1.mlp.up_proj');
  });

  it('rejects invalid configs given directly as arguments with RangeError', () => {
    const config = parseVptqLayerConfig(published, 'x');
    expect(() => getVptqLayerLayout({ ...config, numCentroids: 3 })).toThrow(RangeError);
    // In memory an absent part is 0; the JSON's -1 markers are refused with a hint.
    expect(() => getVptqLayerLayout({ ...config, numResidualCentroids: -1 })).toThrow(/num_res_centroids\[1\] must be ≥ 0, with 0 for an absent part/);
    expect(() => getVptqLayerLayout({ ...config, numOutlierCentroids: 16, outlierVectorLength: 1, outlierSize: 96, groupSize: 4000 })).toThrow(
      /vector_lens\[0\] must be at least 2 with an outlier codebook/,
    );
    expect(() => getVptqLayerLayout({ ...config, outlierVectorLength: 4 })).toThrow(/vector_lens\[0\] must be 0 without an outlier codebook/);
    expect(() => toVptqLayerConfigJson({ ...config, groupSize: 1 })).toThrow(/^toVptqLayerConfigJson: outlier_size \+ group_num/);
  });
});

describe('parseVptqQuantizationConfig', () => {
  const quantizationConfig = {
    quant_method: 'vptq',
    config_for_layers: { 'model.layers.0.self_attn.q_proj': published },
    shared_layer_config: { down_proj: { ...published, in_features: 11008, group_size: 11008 } },
  };

  it('reads config.json, looks layers up by full name then by last component, and round-trips', () => {
    const config = parseVptqQuantizationConfig({ model_type: 'llama', quantization_config: quantizationConfig });
    expect(findVptqLayerConfig(config, 'model.layers.0.self_attn.q_proj')?.inFeatures).toBe(4096);
    expect(findVptqLayerConfig(config, 'model.layers.7.mlp.down_proj')?.inFeatures).toBe(11008);
    expect(findVptqLayerConfig(config, 'model.layers.7.self_attn.q_proj')).toBeUndefined();
    expect(findVptqLayerConfig(config, 'lm_head')).toBeUndefined();
    expect(findVptqLayerConfig(config, 'constructor')).toBeUndefined();
    const json = toVptqQuantizationConfigJson(config);
    expect(json.quant_method).toBe('vptq');
    expect(parseVptqQuantizationConfig(JSON.parse(JSON.stringify(json)))).toEqual(config);
    expect(parseVptqQuantizationConfig(quantizationConfig)).toEqual(config);
  });

  it('reads multimodal text_config and the legacy flat quant_config', () => {
    const multimodal = parseVptqQuantizationConfig({ text_config: { quantization_config: quantizationConfig } });
    expect(Object.keys(multimodal.configForLayers)).toEqual(['model.layers.0.self_attn.q_proj']);
    const legacy = parseVptqQuantizationConfig({ quant_config: { 'model.layers.0.mlp.up_proj': published } });
    expect(findVptqLayerConfig(legacy, 'model.layers.0.mlp.up_proj')?.numCentroids).toBe(65536);
    expect(legacy.sharedLayerConfig).toEqual({});
  });

  it('names the file and the layer when something is wrong', () => {
    expect(configError(() => parseVptqQuantizationConfig({ model_type: 'llama' }, 'm/config.json')).message).toMatch(
      /^m\/config\.json: has no quantization_config/,
    );
    expect(configError(() => parseVptqQuantizationConfig({ quantization_config: { quant_method: 'gptq' } })).message).toMatch(
      /quant_method must be "vptq" \(got "gptq"\)/,
    );
    const bad = configError(() =>
      parseVptqQuantizationConfig({
        quantization_config: { ...quantizationConfig, config_for_layers: { 'model.layers.2.mlp.gate_proj': { ...published, group_num: 0 } } },
      }),
    );
    expect(bad.message).toBe(
      'config.json: config_for_layers: layer "model.layers.2.mlp.gate_proj": group_num must be a positive integer (got 0)',
    );
    expect(bad.tensor).toBe('model.layers.2.mlp.gate_proj');
    expect(bad.label).toBe('config.json');
  });
});
