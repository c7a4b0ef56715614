import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fixturePath, makeTempDir, serveFiles } from '@vptq/test-utils';
import type { FileServer } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { convertLlama2cToHf } from './convert-llama2c-to-hf';
import { createModelFiles } from './create-model-files';
import { listLayerTensorNames } from './decoder-linears';
import { loadTokenizer } from './load-tokenizer';
import { loadTokenizerFiles } from './load-tokenizer-files';
import type { ModelSource } from './model-types';
import { nodeModelFiles } from './node-model-files';
import { openModel } from './open-model';
import { checkModelFiles, openModelFiles } from './open-model-files';
import { writeTinyHfModel } from './test/write-tiny-hf-model';
import { writeTinyVptqModel } from './test/write-tiny-vptq-model';
import { urlModelFiles } from './url-model-files';
import type { VptqModelSource } from './vptq-model-source';

const modelPath = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const tokenizerPath = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const root = makeTempDir('vptq-loader-files-');
const hfDir = join(root, 'hf');
const shardedDir = join(root, 'sharded');
const vptqDir = join(root, 'vptq');

/** Every tensor of a source, prefetched first. */
async function readAll(source: ModelSource): Promise<Map<string, Float32Array>> {
  await source.prefetch(source.tensors.map((tensor) => tensor.name));
  return new Map(source.tensors.map((tensor) => [tensor.name, source.readTensor(tensor.name)]));
}

/** Bit-identical f32 arrays (compared as bytes: element-wise `toEqual` on a million floats is slow). */
function bytesOf(values: Float32Array | undefined): Buffer {
  return values === undefined ? Buffer.alloc(0) : Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function expectSameModel(opened: ModelSource, reference: ModelSource, read: Map<string, Float32Array>): void {
  expect(opened.format).toBe(reference.format);
  expect(opened.config).toEqual(reference.config);
  expect(opened.tensors).toEqual(reference.tensors);
  for (const { name } of reference.tensors) expect(bytesOf(read.get(name)).equals(bytesOf(reference.readTensor(name))), name).toBe(true);
}

describe('openModelFiles and loadTokenizerFiles', () => {
  let server: FileServer;
  let plain: FileServer;
  beforeAll(async () => {
    convertLlama2cToHf(modelPath, tokenizerPath, hfDir);
    writeTinyHfModel(shardedDir, { shards: 3, dtype: 'BF16' });
    writeTinyVptqModel(vptqDir, { shards: 2 });
    const mounts = { stories: dirname(modelPath), hf: hfDir, sharded: shardedDir, vptq: vptqDir };
    server = await serveFiles(mounts);
    plain = await serveFiles(mounts, { ranges: false });
  });
  afterAll(async () => {
    await Promise.all([server.close(), plain.close()]);
  });

  it('open stories260K.bin from a URL, a Blob, bytes and a path with the same tensors as openModel', async () => {
    const reference = openModel(modelPath);
    const bytes = readFileSync(modelPath);
    const sources = [
      urlModelFiles(`${server.url}stories/stories260K.bin`),
      urlModelFiles(`${plain.url}stories/stories260K.bin`),
      createModelFiles(new File([bytes], 'stories260K.bin')),
      createModelFiles(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      nodeModelFiles(modelPath),
    ];
    try {
      for (const files of sources) {
        const opened = await openModelFiles(files);
        try {
          expectSameModel(opened, reference, await readAll(opened));
        } finally {
          opened.close();
        }
      }
    } finally {
      reference.close();
    }
  });

  it('reads a model behind Range requests only where prefetched, one working set at a time, in few requests', async () => {
    server.requests.length = 0;
    const opened = await openModelFiles(urlModelFiles(`${server.url}stories/stories260K.bin`));
    expect(opened.path).toBe(`${server.url}stories/stories260K.bin`);
    expect(() => opened.readTensor('model.norm.weight')).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_PREFETCHED', tensor: 'model.norm.weight' }));
    expect(() => opened.readTensor('model.norm.weight')).toThrow(/was not prefetched; await source\.prefetch/);
    const layer = listLayerTensorNames(opened.config, 1);
    await opened.prefetch(layer);
    for (const name of layer) expect(opened.readTensor(name).length).toBeGreaterThan(0);
    await opened.prefetch(['model.norm.weight']);
    expect(() => opened.readTensor(layer[2])).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_PREFETCHED' }));
    await expect(opened.prefetch(['model.layers.9.mlp.up_proj.weight'])).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_TENSOR' }));
    server.requests.length = 0;
    await opened.prefetch(opened.tensors.map((tensor) => tensor.name));
    // The tensors tile the file, so all of them come in one request.
    expect(server.requests).toHaveLength(1);
    opened.close();
    await expect(opened.prefetch(['model.norm.weight'])).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_CLOSED' }));
    const plainOpened = await openModelFiles(urlModelFiles(`${plain.url}stories/stories260K.bin`));
    expect(plainOpened.readTensor('model.norm.weight')).toEqual(new Float32Array(plainOpened.readTensor('model.norm.weight')));
    plainOpened.close();
  });

  it('open Hugging Face directories, sharded and not, from a URL and from picked files', async () => {
    for (const [dir, mount] of [
      [hfDir, 'hf'],
      [shardedDir, 'sharded'],
    ]) {
      const reference = openModel(dir);
      const names = reference.tensors.map((tensor) => tensor.name);
      try {
        for (const files of [urlModelFiles(`${server.url}${mount}`), urlModelFiles(`${plain.url}${mount}/`), nodeModelFiles(dir)]) {
          const opened = await openModelFiles(files);
          expectSameModel(opened, reference, await readAll(opened));
          opened.close();
        }
        const picked = createModelFiles(
          Object.fromEntries(['config.json', 'model.safetensors', 'model.safetensors.index.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']
            .flatMap((name) => {
              try {
                return [[name, new Blob([readFileSync(join(dir, name))])]];
              } catch {
                return [];
              }
            })),
        );
        const opened = await openModelFiles(picked);
        expect([...(await readAll(opened)).keys()]).toEqual(names);
        opened.close();
      } finally {
        reference.close();
      }
    }
  });

  it('opens a sharded VPTQ directory from a URL and from Blobs with the packed layers openModel reads', async () => {
    const reference = openModel(vptqDir) as VptqModelSource;
    const blobs = createModelFiles(
      Object.fromEntries(
        ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map((name) => [
          name,
          new Blob([readFileSync(join(vptqDir, name))]),
        ]),
      ),
    );
    try {
      for (const files of [urlModelFiles(`${server.url}vptq/`), blobs]) {
        const opened = (await openModelFiles(files)) as VptqModelSource;
        try {
          expect(opened.quantizedLayers).toEqual(reference.quantizedLayers);
          const first = reference.quantizedLayers[0].name;
          if (files === blobs) {
            expect(() => opened.readQuantizedLayer(first)).toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_NOT_PREFETCHED' }));
          }
          await opened.prefetch([first]);
          expect(opened.readQuantizedLayer(first)).toEqual(reference.readQuantizedLayer(first));
          expect(opened.readTensor(`${first}.weight`)).toEqual(reference.readTensor(`${first}.weight`));
          expectSameModel(opened, reference, await readAll(opened));
          for (const { name } of reference.quantizedLayers) expect(opened.readQuantizedLayer(name), name).toEqual(reference.readQuantizedLayer(name));
        } finally {
          opened.close();
        }
      }
    } finally {
      reference.close();
    }
  });

  it('load tokenizers from a URL as loadTokenizer does from paths', async () => {
    const text = 'Once upon a time, a little girl named Lily found a ball.';
    const fromPath = loadTokenizer(tokenizerPath).encode(text, { bos: true });
    expect((await loadTokenizerFiles(urlModelFiles(`${server.url}stories/tok512.bin`))).encode(text, { bos: true })).toEqual(fromPath);
    expect((await loadTokenizerFiles(urlModelFiles(`${server.url}hf/`))).encode(text, { bos: true })).toEqual(loadTokenizer(hfDir).encode(text, { bos: true }));
    const json = await loadTokenizerFiles(urlModelFiles(`${plain.url}hf/tokenizer.json`));
    expect(json.encode(text)).toEqual(loadTokenizer(join(hfDir, 'tokenizer.json')).encode(text));
    await expect(loadTokenizerFiles(urlModelFiles(`${server.url}sharded/`))).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_FORMAT' }));
  });

  it('report what is missing or unreachable, naming the URL', async () => {
    await expect(openModelFiles(urlModelFiles(`${server.url}stories/`))).rejects.toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_FORMAT', path: `${server.url}stories/` }),
    );
    await expect(openModelFiles(urlModelFiles(`${server.url}stories/absent.bin`))).rejects.toThrow(
      expect.objectContaining({ code: 'VPTQ_LOADER_NOT_FOUND', path: `${server.url}stories/absent.bin` }),
    );
    server.fail = (path) => (path.endsWith('.safetensors') ? 500 : undefined);
    try {
      await expect(openModelFiles(urlModelFiles(`${server.url}hf/`))).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_IO' }));
    } finally {
      server.fail = undefined;
    }
    const opened = await openModelFiles(urlModelFiles(`${server.url}hf/`));
    server.fail = () => 500;
    try {
      await expect(opened.prefetch(['model.norm.weight'])).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_IO' }));
    } finally {
      server.fail = undefined;
      opened.close();
    }
    await expect(openModelFiles({} as never)).rejects.toThrow(/files must be a ModelFiles/);
    expect(() => checkModelFiles('x', null as never)).toThrow(TypeError);
  });
});
