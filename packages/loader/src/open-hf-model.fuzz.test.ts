import { join } from 'node:path';

import { createTestRng, makeTempDir } from '@vptq/test-utils';
import { describe, it } from 'vitest';

import { expectEveryMutationFails, fuzzOutcome } from './test/expect-loader-error';
import { openHfModel } from './open-hf-model';
import { ShardedModelFiles, mutateShard } from './test/sharded-model-fuzz';
import { writeTinyHfModel } from './test/write-tiny-hf-model';

type Mutation = 'truncate' | 'extend' | 'flip-header' | 'flip-data' | 'header-length' | 'config-field' | 'index';
const mutations: Mutation[] = ['truncate', 'extend', 'flip-header', 'flip-data', 'header-length', 'config-field', 'index'];
const configFields = [
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'vocab_size',
  'max_position_embeddings',
  'rms_norm_eps',
  'rope_theta',
  'tie_word_embeddings',
  'architectures',
  'eos_token_id',
];
const strangeValues: unknown[] = [null, 0, -1, 1, 3, 2.5, 1e300, '8', true, [], {}, ['LlamaForCausalLM'], [8]];

describe('openHfModel fuzz', () => {
  it('turns 350 seeded mutations of a sharded BF16 model into success or a LoaderError', () => {
    const root = makeTempDir('vptq-loader-hffuzz-');
    const { dir } = writeTinyHfModel(join(root, 'model'), { dtype: 'BF16', shards: 2 });
    const files = new ShardedModelFiles(dir);
    const { config, index } = files;
    const counts = new Map<string, number>();

    for (let seed = 0; seed < 350; seed++) {
      const next = createTestRng(seed);
      const pick = (count: number): number => Math.floor(next() * count);
      const mutation = mutations[seed % mutations.length];
      // bf16 shards: 0x7f80 is +Inf.
      const shardBytes = mutateShard(files, mutation, next, 0x7f80) ?? Buffer.from(files.shard);
      let configText = config;
      let indexText = index;
      switch (mutation) {
        case 'config-field': {
          const parsed = JSON.parse(config);
          parsed[configFields[pick(configFields.length)]] = strangeValues[pick(strangeValues.length)];
          configText = next() < 0.1 ? configText.slice(0, pick(configText.length)) : JSON.stringify(parsed);
          break;
        }
        case 'index': {
          const parsed = JSON.parse(index);
          const names = Object.keys(parsed.weight_map);
          const name = names[pick(names.length)];
          const choice = pick(4);
          if (choice === 0) delete parsed.weight_map[name];
          else if (choice === 1) parsed.weight_map[name] = 'model-00003-of-00002.safetensors';
          else if (choice === 2) parsed.weight_map = strangeValues[pick(strangeValues.length)];
          else parsed.weight_map[name] = strangeValues[pick(strangeValues.length)];
          indexText = JSON.stringify(parsed);
          break;
        }
      }
      files.write(shardBytes, configText, indexText);

      const outcome = fuzzOutcome(`seed ${seed} (${mutation})`, dir, () => {
        const model = openHfModel(dir);
        try {
          for (const tensor of model.tensors) model.readTensor(tensor.name);
        } finally {
          model.close();
        }
      });
      counts.set(`${mutation} ${outcome}`, (counts.get(`${mutation} ${outcome}`) ?? 0) + 1);
    }
    expectEveryMutationFails(counts, mutations);
  });
});
