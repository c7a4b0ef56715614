import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { createModelFiles } from '@vptq/loader';
import { nodeModelFiles } from '@vptq/loader/node';
import { generate } from '@vptq/runtime';
import { fixturePath, makeTempDir, serveFiles } from '@vptq/test-utils';
import type { FileServer } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { load } from './load';
import { loadCpu } from './load-cpu';
import type { LoadedModel } from './load-cpu';
import { quantize } from './quantize/quantize-model';

const modelPath = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const tokenizerPath = fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin');
const packed = join(makeTempDir('vptq-load-cpu-'), 'stories260K-vptq');
const prompt = 'Once upon a time, there was a little girl';

/** All logits of the prompt and a greedy continuation: what must not change with where the files came from. */
function behaviour(loaded: LoadedModel): { logits: Buffer; text: string } {
  const tokens = loaded.tokenizer.encode(prompt, { bos: true });
  const logits = loaded.model.forward(tokens, 0, { allLogits: true });
  loaded.model.reset();
  const { text } = generate(loaded.model, loaded.tokenizer, { prompt, maxTokens: 40 });
  return { logits: Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength), text };
}

describe('loadCpu', () => {
  let ranges: FileServer;
  let whole: FileServer;
  beforeAll(async () => {
    // A small packed directory of stories260K (the quantize tests' fast settings), as the browser demo serves one.
    await quantize({
      device: 'cpu',
      model: modelPath,
      calibration: fixturePath('tinystories-train-head', 'tinystories.txt'),
      out: packed,
      calibrationTokens: 3000,
      kmeansIterations: 8,
      refineIterations: 2,
      vectorLength: 4,
      numCentroids: 64,
      numResidualCentroids: 0,
    });
    const mounts = { stories: dirname(modelPath), packed };
    ranges = await serveFiles(mounts);
    whole = await serveFiles(mounts, { ranges: false });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([ranges?.close(), whole?.close()]);
  });

  it('runs stories260K.bin from a URL (Range requests or not) with the same logits and greedy text as load(path)', async () => {
    const expected = behaviour(load(modelPath, { tokenizer: tokenizerPath }));
    for (const server of [ranges, whole]) {
      const loaded = await loadCpu(`${server.url}stories/stories260K.bin`, { tokenizer: new URL('stories/tok512.bin', server.url) });
      expect(loaded.format).toBe('llama2c');
      expect(loaded.path).toBe(`${server.url}stories/stories260K.bin`);
      const got = behaviour(loaded);
      expect(got.logits.equals(expected.logits)).toBe(true);
      expect(got.text).toBe(expected.text);
    }
  });

  it('runs the packed directory from a URL, from picked files and from nodeModelFiles as load(path) does', async () => {
    const expected = behaviour(load(packed));
    const picked = createModelFiles(Object.fromEntries(readdirSync(packed).map((name) => [name, new Blob([readFileSync(join(packed, name))])])));
    for (const source of [`${ranges.url}packed/`, `${whole.url}packed`, picked, nodeModelFiles(packed)]) {
      const loaded = await loadCpu(source);
      expect(loaded.format).toBe('vptq');
      const got = behaviour(loaded);
      expect(got.logits.equals(expected.logits), String(loaded.path)).toBe(true);
      expect(got.text).toBe(expected.text);
    }
  });

  it('finds the tokenizer beside a llama2.c file where the files can be listed, and asks for it where not', async () => {
    const beside = await loadCpu(nodeModelFiles(modelPath), { contextLength: 64 });
    expect(beside.tokenizer.encode(prompt)).toEqual(load(modelPath, { tokenizer: tokenizerPath }).tokenizer.encode(prompt));
    await expect(loadCpu(`${ranges.url}stories/stories260K.bin`)).rejects.toThrow(/no tokenizer given for .*stories260K\.bin: pass options\.tokenizer \(found no tokenizer\.bin/);
    await expect(loadCpu(modelPath)).rejects.toThrow(/is not a URL; open a path on disk with nodeModelFiles\(path\) from vptq\/node/);
    await expect(loadCpu(`${ranges.url}packed/absent/`)).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_UNKNOWN_FORMAT' }));
  });
});
