import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { fixturePath, makeTempDir } from '@vptq/test-utils';
import { describe, expect, it } from 'vitest';

import { openModel } from './open-model';
import { writeTinyHfModel } from './test/write-tiny-hf-model';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';

const root = makeTempDir('vptq-loader-open-');

describe('openModel', () => {
  it('opens a file as a llama2.c checkpoint', () => {
    const model = openModel(fixturePath('saltyduckegg-llama2xs-model', 'model.bin'));
    model.close();
    expect(model.format).toBe('llama2c');
    expect(model.config.intermediateSize).toBe(192);
  });

  it('opens a directory with config.json as a Hugging Face model', () => {
    const { dir } = writeTinyHfModel(join(root, 'hf'), { dtype: 'BF16' });
    const model = openModel(dir);
    model.close();
    expect(model.format).toBe('hf');
    expect(model.config.ropeLayout).toBe('half');
  });

  it.each(['shared', 'legacy', 'text-config'] as const)('opens a directory whose config.json declares VPTQ (%s) as a VPTQ model', (style) => {
    const written = writeTinyVptqModel(join(root, `vptq-${style}`), { style, floatDtype: 'BF16' });
    const model = openModel(written.dir);
    try {
      expect(model.format).toBe('vptq');
      expect('readQuantizedLayer' in model && model.quantizedLayers).toHaveLength(14);
      const weight = model.readTensor('model.layers.1.mlp.down_proj.weight');
      expect(weight).toHaveLength(16 * 24);
      expect(model.readTensor('lm_head.weight')).toEqual(written.plain.get('lm_head.weight')?.values);
    } finally {
      model.close();
    }
  });

  it('rejects a directory without config.json and a missing path', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => openModel(empty)).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_FORMAT', path: empty }));
    expect(() => openModel(join(root, 'absent'))).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_FOUND' }));
    expect(() => openModel('')).toThrow(TypeError);
  });
});
