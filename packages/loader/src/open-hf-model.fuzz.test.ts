import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createTestRng, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { LoaderError } from './loader-error';
import { openHfModel } from './open-hf-model';
import { writeTinyHfModel } from './write-tiny-hf-model.fixture';

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
    const shardPath = join(dir, 'model-00001-of-00002.safetensors');
    const configPath = join(dir, 'config.json');
    const indexPath = join(dir, 'model.safetensors.index.json');
    const shard = readFileSync(shardPath);
    const config = readFileSync(configPath, 'utf8');
    const index = readFileSync(indexPath, 'utf8');
    const headerEnd = 8 + shard.readUInt32LE(0);
    const counts = new Map<string, number>();

    for (let seed = 0; seed < 350; seed++) {
      const next = createTestRng(seed);
      const pick = (count: number): number => Math.floor(next() * count);
      const mutation = mutations[seed % mutations.length];
      let shardBytes: Buffer = Buffer.from(shard);
      let configText = config;
      let indexText = index;
      switch (mutation) {
        case 'truncate':
          shardBytes = shard.subarray(0, pick(shard.length));
          break;
        case 'extend':
          shardBytes = Buffer.concat([shard, Buffer.alloc(1 + pick(9))]);
          break;
        case 'flip-header':
          // Inside the JSON: digits, quotes and braces turn into other characters or invalid UTF-8.
          for (let flips = 1 + pick(2); flips > 0; flips--) shardBytes[8 + pick(headerEnd - 8)] ^= 1 << pick(8);
          break;
        case 'flip-data':
          for (let flips = 1 + pick(4); flips > 0; flips--) shardBytes[headerEnd + pick(shard.length - headerEnd)] ^= 1 << pick(8);
          // Random flips rarely fill a whole exponent; half the time write a bf16 ±Inf/NaN pattern on purpose.
          if (next() < 0.5) shardBytes.writeUInt16LE(0x7f80 | pick(2) * 0x8000 | pick(2), headerEnd + 2 * pick((shard.length - headerEnd) / 2));
          break;
        case 'header-length':
          shardBytes.writeUInt32LE([0, 1, 2, headerEnd - 9, headerEnd, 0xffffffff][pick(6)], 0);
          shardBytes.writeUInt32LE(pick(2), 4);
          break;
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
      writeFileSync(shardPath, shardBytes);
      writeFileSync(configPath, configText);
      writeFileSync(indexPath, indexText);

      let outcome = 'ok';
      try {
        const model = openHfModel(dir);
        try {
          for (const tensor of model.tensors) model.readTensor(tensor.name);
        } finally {
          model.close();
        }
      } catch (error) {
        if (!(error instanceof LoaderError)) {
          throw new Error(`seed ${seed} (${mutation}) threw a non-LoaderError: ${String(error)}`, { cause: error });
        }
        expect(error.message).toContain(dir);
        outcome = error.code;
      }
      counts.set(`${mutation} ${outcome}`, (counts.get(`${mutation} ${outcome}`) ?? 0) + 1);
    }
    for (const mutation of mutations) {
      const failures = [...counts].filter(([key]) => key.startsWith(mutation) && !key.endsWith(' ok'));
      expect(failures.length, `${mutation}: ${JSON.stringify([...counts])}`).toBeGreaterThan(0);
    }
  });
});
