import { join } from 'node:path';

import { makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { editJsonFile, expectLoaderError } from './test/expect-loader-error';
import { openHfModel } from './open-hf-model';
import { openModel } from './open-model';
import { openVptqModel } from './open-vptq-model';
import { writeTinyHfModel } from './test/write-tiny-hf-model';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';
import type { TinyVptqModel, TinyVptqModelOptions } from './test/write-tiny-vptq-model';

const root = makeTempDir('vptq-loader-vptqerr-');
let counter = 0;
const q0 = 'model.layers.0.self_attn.q_proj';

function tinyModel(options: TinyVptqModelOptions = {}): TinyVptqModel {
  return writeTinyVptqModel(join(root, `model-${counter++}`), options);
}

function editConfig(dir: string, edit: (config: Record<string, any>) => void): string {
  const path = join(dir, 'config.json');
  editJsonFile(path, edit);
  return path;
}

describe('openVptqModel errors', () => {
  const shared = 'quantization_config.shared_layer_config["q_proj"]';

  it.each([
    ['K not a power of two', (layer: Record<string, unknown>) => (layer.num_centroids = [-1, 24]), 'num_centroids', /num_centroids\[1\] must be a power of two/],
    ['outlier_size + G·S ≠ in', (layer: Record<string, unknown>) => (layer.group_size = 7), 'outlier_size', /outlier_size \+ group_num · group_size must equal in_features \(got 4 \+ 2 · 7 = 18, in_features = 16\)/],
    ['tb > 32', (layer: Record<string, unknown>) => Object.assign(layer, { num_centroids: [4, 65536], num_res_centroids: [-1, 131072] }), 'num_centroids', /at most 32 bits \(got 33\)/],
    ['the unpacked legacy layout', (layer: Record<string, unknown>) => (layer.is_indice_packed = false), 'is_indice_packed', /is_indice_packed must be true: the unpacked legacy layout is not supported/],
    ['a missing key', (layer: Record<string, unknown>) => delete layer.vector_lens, 'vector_lens', /vector_lens must be a pair of integers/],
    ['a non-boolean flag', (layer: Record<string, unknown>) => (layer.enable_perm = 'yes'), 'enable_perm', /enable_perm must be true or false/],
  ])('rejects a layer config with %s, naming file, layer and field', (_label, edit, key, message) => {
    const { dir } = tinyModel();
    const configPath = editConfig(dir, (config) => edit(config.quantization_config.shared_layer_config.q_proj));
    const error = expectLoaderError(() => openVptqModel(dir), { code: 'VPTQ_LOADER_BAD_CONFIG', path: configPath, tensor: 'q_proj', field: `${shared}.${key}` }, message);
    expect(error.message).toContain(configPath);
    expect(error.message).toContain('shared_layer_config: layer "q_proj"');
  });

  it('names config_for_layers and legacy quant_config entries by their full module name', () => {
    const perLayer = tinyModel({ style: 'per-layer' });
    editConfig(perLayer.dir, (config) => (config.quantization_config.config_for_layers['model.layers.1.mlp.up_proj'].num_centroids = [-1, 3]));
    expectLoaderError(
      () => openVptqModel(perLayer.dir),
      { code: 'VPTQ_LOADER_BAD_CONFIG', tensor: 'model.layers.1.mlp.up_proj', field: 'quantization_config.config_for_layers["model.layers.1.mlp.up_proj"].num_centroids' },
      /config_for_layers: layer "model\.layers\.1\.mlp\.up_proj": num_centroids\[1\] must be a power of two ≥ 2 \(got 3\)/,
    );
    const legacy = tinyModel({ style: 'legacy' });
    editConfig(legacy.dir, (config) => (config.quant_config[q0].is_indice_packed = false));
    expectLoaderError(
      () => openModel(legacy.dir),
      { code: 'VPTQ_LOADER_BAD_CONFIG', tensor: q0, field: `quant_config["${q0}"].is_indice_packed` },
      /unpacked legacy layout is not supported/,
    );
  });

  it('rejects a layer config whose in/out features disagree with the architecture', () => {
    const { dir } = tinyModel();
    const configPath = editConfig(dir, (config) => Object.assign(config.quantization_config.shared_layer_config.q_proj, { in_features: 20, group_size: 8 }));
    expectLoaderError(
      () => openVptqModel(dir),
      { code: 'VPTQ_LOADER_BAD_CONFIG', path: configPath, tensor: q0, field: `${shared}.in_features` },
      /shared_layer_config\["q_proj"\]\.in_features is 20, but model\.layers\.0\.self_attn\.q_proj is 16 × 16 in this architecture/,
    );
  });

  it('rejects a missing packed tensor, naming it, its layer and the config entry', () => {
    const { dir } = tinyModel({ editEntries: (entries) => entries.filter((entry) => entry.name !== 'model.layers.1.mlp.down_proj.res_centroids.weight') });
    expectLoaderError(
      () => openVptqModel(dir),
      { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', path: join(dir, 'model.safetensors'), tensor: 'model.layers.1.mlp.down_proj.res_centroids.weight', field: 'quantization_config.shared_layer_config["down_proj"]' },
      /tensor model\.layers\.1\.mlp\.down_proj\.res_centroids\.weight \(F16\/BF16\/F32 \[2, 12\]\) of VPTQ layer model\.layers\.1\.mlp\.down_proj is missing/,
    );
  });

  it('rejects packed tensors whose shape does not match the layer config', () => {
    const { dir } = tinyModel();
    // K 16 → 32 in the config: the stored centroids are [2, 16·3] where [2, 32·3] is implied.
    editConfig(dir, (config) => (config.quantization_config.shared_layer_config.q_proj.num_centroids = [4, 32]));
    expectLoaderError(
      () => openVptqModel(dir),
      { code: 'VPTQ_LOADER_SHAPE_MISMATCH', tensor: `${q0}.centroids.weight`, field: shared },
      /has shape \[2, 48\] but quantization_config\.shared_layer_config\["q_proj"\] implies \[2, 96\] \(in 16, out 16, v 3, K 32/,
    );
  });

  it.each([
    ['indices', 'I16', /indices has dtype I16; quantization_config\.shared_layer_config\["q_proj"\] implies I32\/U32/],
    ['perm', 'I32', /perm has dtype I32; .* implies I16\/U16\/I64/],
    ['outlier_indices', 'F16', /outlier_indices has dtype F16; .* implies I16\/U16/],
    ['centroids.weight', 'I16', /centroids\.weight has dtype I16; .* implies F16\/BF16\/F32/],
  ] as const)('rejects a packed %s stored as %s', (suffix, dtype, message) => {
    const { dir } = tinyModel({
      editEntries: (entries) =>
        entries.map((entry) => {
          if (entry.name !== `${q0}.${suffix}`) return entry;
          const bytes = new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
          // Same bytes, other dtype: I32 words read as twice as many I16 (and the converse) keep the byte count.
          const shape = dtype === 'I16' && suffix === 'indices' ? [...entry.shape.slice(0, -1), entry.shape.at(-1)! * 2] : dtype === 'I32' ? [entry.shape[0] / 2] : entry.shape;
          return { ...entry, dtype, shape, data: bytes };
        }),
    });
    expectLoaderError(() => openVptqModel(dir), { code: 'VPTQ_LOADER_UNSUPPORTED_DTYPE', tensor: `${q0}.${suffix}`, field: shared }, message);
  });

  it('accepts F16 outlier indices only with indices_as_float', () => {
    const { dir } = tinyModel({
      editEntries: (entries) => entries.map((entry) => (entry.name.endsWith('.outlier_indices') ? { ...entry, dtype: 'F16' } : entry)),
    });
    expectLoaderError(() => openVptqModel(dir), { code: 'VPTQ_LOADER_UNSUPPORTED_DTYPE' }, /outlier_indices has dtype F16/);
    editConfig(dir, (config) => {
      for (const layer of Object.values(config.quantization_config.shared_layer_config)) (layer as Record<string, unknown>).indices_as_float = true;
    });
    const model = openVptqModel(dir);
    try {
      expect(model.readQuantizedLayer(q0).tensors.outlierIndices?.length).toBe(16);
    } finally {
      model.close();
    }
  });

  it('rejects a layer config for a module stored as a plain weight, or stored both ways', () => {
    const plain = tinyModel({ storePlain: (module) => module === 'model.layers.1.self_attn.o_proj' });
    expectLoaderError(
      () => openVptqModel(plain.dir),
      { code: 'VPTQ_LOADER_BAD_CONFIG', tensor: 'model.layers.1.self_attn.o_proj', field: 'quantization_config.shared_layer_config["o_proj"]' },
      /shared_layer_config\["o_proj"\] quantizes model\.layers\.1\.self_attn\.o_proj, but .*model\.safetensors holds a plain model\.layers\.1\.self_attn\.o_proj\.weight instead of its packed VPTQ tensors/,
    );
    const both = tinyModel({ editEntries: (entries) => [...entries, { name: `${q0}.weight`, dtype: 'F16', shape: [16, 16], data: new Uint16Array(256) }] });
    expectLoaderError(() => openVptqModel(both.dir), { code: 'VPTQ_LOADER_BAD_SAFETENSORS', tensor: `${q0}.weight` }, /has both a plain .*weight and packed VPTQ tensors/);
  });

  it('explains a missing plain weight when packed tensors exist without a layer config', () => {
    const { dir } = tinyModel({ style: 'per-layer' });
    editConfig(dir, (config) => delete config.quantization_config.config_for_layers['model.layers.0.mlp.up_proj']);
    expectLoaderError(
      () => openVptqModel(dir),
      { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: 'model.layers.0.mlp.up_proj.weight' },
      /required tensor model\.layers\.0\.mlp\.up_proj\.weight \[24, 16\] is missing; the files hold packed VPTQ tensors for model\.layers\.0\.mlp\.up_proj, but quantization_config has no layer config for it/,
    );
  });

  it('tells VPTQ, other quantization methods and unquantized directories apart', () => {
    const vptq = tinyModel();
    expectLoaderError(() => openHfModel(vptq.dir), { code: 'VPTQ_LOADER_BAD_CONFIG', field: 'quantization_config' }, /VPTQ-packed .*open the directory with openVptqModel or openModel/);
    const legacy = tinyModel({ style: 'legacy' });
    expectLoaderError(() => openHfModel(legacy.dir), { code: 'VPTQ_LOADER_BAD_CONFIG', field: 'quant_config' }, /VPTQ-packed/);

    const gptq = tinyModel();
    editConfig(gptq.dir, (config) => (config.quantization_config = { quant_method: 'gptq', bits: 4 }));
    expectLoaderError(() => openModel(gptq.dir), { code: 'VPTQ_LOADER_BAD_CONFIG', field: 'quantization_config' }, /quant_method "gptq"\); only unquantized F32\/F16\/BF16 weights and VPTQ/);
    expectLoaderError(() => openVptqModel(gptq.dir), { code: 'VPTQ_LOADER_BAD_CONFIG', field: 'quantization_config' }, /must have quant_method "vptq" \(got "gptq"\)/);

    const hf = writeTinyHfModel(join(root, `hf-${counter++}`));
    expectLoaderError(() => openVptqModel(hf.dir), { code: 'VPTQ_LOADER_BAD_CONFIG', field: 'quantization_config' }, /is missing, so the weights are not VPTQ-packed/);
    expect(() => openVptqModel('')).toThrow(TypeError);
  });

  it('checks perm, outlier indices and finiteness when a layer is read', () => {
    const corrupt = (suffix: string, change: (data: ArrayBufferView) => void): string =>
      tinyModel({
        editEntries: (entries) =>
          entries.map((entry) => {
            if (entry.name !== `${q0}.${suffix}`) return entry;
            const data = (entry.data as Uint16Array).slice();
            change(data);
            return { ...entry, data };
          }),
      }).dir;
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [corrupt('perm', (data) => ((data as Uint16Array)[0] = (data as Uint16Array)[1])), { code: 'VPTQ_LOADER_INDEX_RANGE', tensor: `${q0}.perm` }, /perm" is not a permutation of 0\.\.15/],
      [corrupt('outlier_indices', (data) => ((data as Uint16Array)[5] = 4)), { code: 'VPTQ_LOADER_INDEX_RANGE', tensor: `${q0}.outlier_indices` }, /element 5 is 4, not below the 4 outlier centroids/],
      [corrupt('centroids.weight', (data) => ((data as Uint16Array)[7] = 0x7e00)), { code: 'VPTQ_LOADER_NOT_FINITE', tensor: `${q0}.centroids.weight` }, /F16 NaN or ±Infinity \(bits 0x7e00\) at element 7/],
      [corrupt('weight_scale', (data) => ((data as Uint16Array)[0] = 0xfc00)), { code: 'VPTQ_LOADER_NOT_FINITE', tensor: `${q0}.weight_scale` }, /at element 0/],
    ];
    for (const [dir, expected, message] of cases) {
      const model = openVptqModel(dir);
      try {
        expect(model.readTensor('model.layers.1.self_attn.q_proj.weight')).toHaveLength(256);
        expectLoaderError(() => model.readTensor(`${q0}.weight`), { ...expected, path: join(dir, 'model.safetensors') }, message);
        expectLoaderError(() => model.readQuantizedLayer(q0), expected, message);
      } finally {
        model.close();
      }
    }
  });

  it('rejects unknown names, packed parts (listed or stray) and reads after close', () => {
    // A stray legacy res_indices next to packed indices is not part of the model (the packer merges it away).
    const { dir } = tinyModel({ editEntries: (entries) => [...entries, { name: `${q0}.res_indices`, dtype: 'I16', shape: [2, 6, 6], data: new Uint16Array(72) }] });
    const model = openVptqModel(dir);
    expect(model.tensors.filter((tensor) => tensor.name.startsWith(`${q0}.`))).toEqual([{ name: `${q0}.weight`, dtype: 'F32', shape: [16, 16] }]);
    expectLoaderError(() => model.readTensor(`${q0}.res_indices`), { code: 'VPTQ_LOADER_UNKNOWN_TENSOR' }, /part of the VPTQ layer/);
    expectLoaderError(() => model.readTensor(`${q0}.indices`), { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: `${q0}.indices` }, /stored as part of the VPTQ layer .*q_proj: use readQuantizedLayer/);
    expectLoaderError(() => model.readQuantizedLayer(`${q0}.weight`), { code: 'VPTQ_LOADER_UNKNOWN_TENSOR' }, /no VPTQ-quantized layer .*q_proj\.weight; pass the module name/);
    expectLoaderError(() => model.readQuantizedLayer('lm_head'), { code: 'VPTQ_LOADER_UNKNOWN_TENSOR', tensor: 'lm_head' }, /no VPTQ-quantized layer lm_head \(quantized layers: /);
    model.close();
    model.close();
    expectLoaderError(() => model.readTensor(`${q0}.weight`), { code: 'VPTQ_LOADER_CLOSED' }, /was closed/);
    expectLoaderError(() => model.readTensor('model.norm.weight'), { code: 'VPTQ_LOADER_CLOSED' }, /was closed/);
    expectLoaderError(() => model.readQuantizedLayer(q0), { code: 'VPTQ_LOADER_CLOSED' }, /was closed/);
  });
});
