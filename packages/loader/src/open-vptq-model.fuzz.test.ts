import { join } from 'node:path';

import { createTestRng, makeTempDir } from '@vptq/test-utils';
import { describe, it } from 'vitest';

import { expectEveryMutationFails, fuzzOutcome } from './test/expect-loader-error';
import { openModel } from './open-model';
import { ShardedModelFiles, mutateShard } from './test/sharded-model-fuzz';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';

type Mutation = 'truncate' | 'flip-header' | 'flip-data' | 'header-length' | 'layer-field' | 'quantization' | 'config-field' | 'index';
const mutations: Mutation[] = ['truncate', 'flip-header', 'flip-data', 'header-length', 'layer-field', 'quantization', 'config-field', 'index'];
const layerFields = [
  'in_features',
  'out_features',
  'vector_lens',
  'num_centroids',
  'num_res_centroids',
  'group_num',
  'group_size',
  'outlier_size',
  'enable_norm',
  'enable_perm',
  'is_indice_packed',
  'indices_as_float',
  'bias',
  'vector_quant_dim',
];
const configFields = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'architectures'];
const strangeValues: unknown[] = [null, 0, -1, 1, 2, 3, 8, 16, 2.5, 1e300, 65536, 2 ** 31, '16', true, false, [], {}, [-1, 16], [4, 32], [5, 3], [-1, -1], [2, 2, 2], 'in'];

describe('openVptqModel fuzz', () => {
  it('turns 320 seeded mutations of a sharded VPTQ model into success or a LoaderError', () => {
    const root = makeTempDir('vptq-loader-vptqfuzz-');
    const { dir } = writeTinyVptqModel(join(root, 'model'), { style: 'mixed', shards: 2, permDtype: 'I64' });
    const files = new ShardedModelFiles(dir);
    const { config, index } = files;
    const counts = new Map<string, number>();

    for (let seed = 0; seed < 320; seed++) {
      const next = createTestRng(seed);
      const pick = (count: number): number => Math.floor(next() * count);
      const strange = (): unknown => strangeValues[pick(strangeValues.length)];
      const mutation = mutations[seed % mutations.length];
      // f16 codebooks and norms: 0x7c00 is +Inf.
      const shardBytes = mutateShard(files, mutation, next, 0x7c00) ?? Buffer.from(files.shard);
      let configText = config;
      let indexText = index;
      const parsed = JSON.parse(config);
      const quantization = parsed.quantization_config;
      switch (mutation) {
        case 'layer-field': {
          const sections = [quantization.shared_layer_config, quantization.config_for_layers];
          const section = sections[pick(2)];
          const keys = Object.keys(section);
          const layer = section[keys[pick(keys.length)]];
          const field = layerFields[pick(layerFields.length)];
          if (next() < 0.2) delete layer[field];
          else layer[field] = strange();
          configText = JSON.stringify(parsed);
          break;
        }
        case 'quantization': {
          const choice = pick(5);
          if (choice === 0) parsed.quantization_config = strange();
          else if (choice === 1) quantization.quant_method = strange();
          else if (choice === 2) quantization.config_for_layers = strange();
          else if (choice === 3) quantization.shared_layer_config = strange();
          else parsed.quant_config = strange();
          configText = next() < 0.1 ? configText.slice(0, pick(configText.length)) : JSON.stringify(parsed);
          break;
        }
        case 'config-field':
          parsed[configFields[pick(configFields.length)]] = strange();
          configText = JSON.stringify(parsed);
          break;
        case 'index': {
          const map = JSON.parse(index);
          const names = Object.keys(map.weight_map);
          const name = names[pick(names.length)];
          if (next() < 0.5) delete map.weight_map[name];
          else map.weight_map[name] = next() < 0.5 ? 'model-00002-of-00002.safetensors' : strange();
          indexText = JSON.stringify(map);
          break;
        }
      }
      files.write(shardBytes, configText, indexText);

      const outcome = fuzzOutcome(`seed ${seed} (${mutation})`, dir, () => {
        const model = openModel(dir);
        try {
          for (const tensor of model.tensors) model.readTensor(tensor.name);
          if ('readQuantizedLayer' in model) {
            for (const layer of model.quantizedLayers) model.readQuantizedLayer(layer.name);
          }
        } finally {
          model.close();
        }
      });
      counts.set(`${mutation} ${outcome}`, (counts.get(`${mutation} ${outcome}`) ?? 0) + 1);
    }
    expectEveryMutationFails(counts, mutations);
    // The unmutated model must still open: the mutations, not the fixture, caused the failures.
    files.restore();
    openModel(dir).close();
  });
});
