import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { convertLlama2cToHf, openHfModel } from '@vptq/loader/node';
import { encodeSafetensors } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import { fixturePath, randomFloats } from '@vptq/test-utils';

/** What {@link writeStoriesVariant} changes of stories260K's Hugging Face directory. */
export interface StoriesVariant {
  /** The config.json to write, from the converted one. */
  readonly config: (converted: Record<string, unknown>) => Record<string, unknown>;
  /** Projections (matched on `<module>.weight`, first group = the module) that get a seeded random bias, ±0.2, never zero. */
  readonly biases?: RegExp;
  /** Add `lm_head.weight` as a copy of the embeddings, for a config that does not tie them (the same function). */
  readonly untie?: boolean;
}

/**
 * Test helper: stories260K (the llama2.c fixture, with its tok512 tokenizer) converted into a Hugging Face
 * directory at `dir`, then rewritten as another configuration of the same trained weights: `variant.config`
 * writes the config.json, and the tensors that configuration has and llama2.c lacks are added (biases from seed
 * 100 on, in tensor order; an untied `lm_head`). The tokenizer files of the conversion stay, so the directory
 * loads and quantizes on its own.
 */
export function writeStoriesVariant(dir: string, variant: StoriesVariant): void {
  const fixture = (name: string) => fixturePath('karpathy-tinyllamas-stories260K', name);
  convertLlama2cToHf(fixture('stories260K.bin'), fixture('tok512.bin'), dir);
  const source = openHfModel(dir);
  const entries: SafetensorsTensorInput[] = [];
  try {
    let seed = 100;
    for (const info of source.tensors) {
      const data = source.readTensor(info.name);
      entries.push({ name: info.name, dtype: 'F32', shape: info.shape, data });
      const projection = variant.biases?.exec(info.name);
      if (projection) entries.push({ name: `${projection[1]}.bias`, dtype: 'F32', shape: [info.shape[0]], data: randomFloats(info.shape[0], seed++, 0.2) });
      if (variant.untie && info.name === 'model.embed_tokens.weight') entries.push({ name: 'lm_head.weight', dtype: 'F32', shape: info.shape, data });
    }
  } finally {
    source.close();
  }
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat(encodeSafetensors(entries, { format: 'pt' })));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(variant.config(JSON.parse(readFileSync(configPath, 'utf8'))), null, 2));
}
