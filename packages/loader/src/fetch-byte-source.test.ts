import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fixturePath, makeTempDir, serveFiles } from '@vptq/test-utils';
import type { FileServer } from '@vptq/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fetchByteSource } from './fetch-byte-source';
import { LoaderError } from './loader-error';

const modelPath = fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin');
const fixtures = dirname(modelPath);
const file = new Uint8Array(readFileSync(modelPath));
// Offsets inside the first response (64 KiB), across its end, and near the end of the 1 MB file.
const reads: [number, number][] = [
  [0, 28],
  [65_000, 1_000],
  [300_000, 70_000],
  [file.byteLength - 10, 10],
  [file.byteLength - 10, 50],
];

describe('fetchByteSource', () => {
  let withRanges: FileServer;
  let withoutRanges: FileServer;
  let hiddenRange: FileServer;
  let empty: string;
  beforeAll(async () => {
    empty = makeTempDir();
    writeFileSync(join(empty, 'empty.bin'), new Uint8Array(0));
    withRanges = await serveFiles({ stories: fixtures, empty });
    withoutRanges = await serveFiles({ stories: fixtures }, { ranges: false });
    hiddenRange = await serveFiles({ stories: fixtures }, { exposeContentRange: false });
  });
  afterAll(async () => {
    await Promise.all([withRanges.close(), withoutRanges.close(), hiddenRange.close()]);
  });

  it('reads a file with one HTTP Range request per read where the server honours ranges', async () => {
    withRanges.requests.length = 0;
    const source = await fetchByteSource(`${withRanges.url}stories/stories260K.bin`);
    expect(source.byteLength).toBe(file.byteLength);
    const pending = source.read(0, 28);
    expect(pending).toBeInstanceOf(Promise);
    for (const [offset, length] of reads) {
      expect(await source.read(offset, length), `${offset}+${length}`).toEqual(file.subarray(offset, Math.min(offset + length, file.byteLength)));
    }
    // The first request fetched 64 KiB; reads inside it cost nothing, the others one range each.
    expect(withRanges.requests.map(({ range, status }) => [range, status])).toEqual([
      ['bytes=0-65535', 206],
      ['bytes=65000-65999', 206],
      ['bytes=300000-369999', 206],
      [`bytes=${file.byteLength - 10}-${file.byteLength - 1}`, 206],
      [`bytes=${file.byteLength - 10}-${file.byteLength - 1}`, 206],
    ]);
  });

  it('keeps the whole file from one GET, and reads synchronously, where the server ignores ranges', async () => {
    withoutRanges.requests.length = 0;
    const source = await fetchByteSource(new URL('stories/stories260K.bin', withoutRanges.url));
    expect(source.byteLength).toBe(file.byteLength);
    for (const [offset, length] of reads) {
      const bytes = source.read(offset, length);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes).toEqual(file.subarray(offset, Math.min(offset + length, file.byteLength)));
    }
    expect(withoutRanges.requests.map(({ range, status }) => [range, status])).toEqual([['bytes=0-65535', 200]]);
  });

  it('reads a file that fits in the first response synchronously, and an empty one', async () => {
    const tokenizer = new Uint8Array(readFileSync(join(fixtures, 'tok512.bin')));
    const source = await fetchByteSource(`${withRanges.url}stories/tok512.bin`);
    expect(source.byteLength).toBe(tokenizer.byteLength);
    expect(source.read(0, tokenizer.byteLength)).toEqual(tokenizer);
    const none = await fetchByteSource(`${withRanges.url}empty/empty.bin`);
    expect(none.byteLength).toBe(0);
    expect(none.read(0, 4)).toEqual(new Uint8Array(0));
  });

  it('takes the length from a HEAD request where Content-Range is hidden', async () => {
    hiddenRange.requests.length = 0;
    const source = await fetchByteSource(`${hiddenRange.url}stories/stories260K.bin`);
    expect(source.byteLength).toBe(file.byteLength);
    expect(await source.read(500_000, 100)).toEqual(file.subarray(500_000, 500_100));
    expect(hiddenRange.requests.map(({ method }) => method)).toEqual(['GET', 'HEAD', 'GET']);
  });

  it('reports a missing file, a failing server and a bad URL', async () => {
    const missing = `${withRanges.url}stories/absent.bin`;
    await expect(fetchByteSource(missing)).rejects.toThrow(expect.objectContaining({ name: 'LoaderError', code: 'VPTQ_LOADER_NOT_FOUND', path: missing }));
    await expect(fetchByteSource(missing)).rejects.toThrow(/absent\.bin does not exist \(HTTP 404/);
    const source = await fetchByteSource(`${withRanges.url}stories/stories260K.bin`);
    withRanges.fail = () => 503;
    try {
      await expect(fetchByteSource(`${withRanges.url}stories/stories260K.bin`)).rejects.toThrow(/cannot be read \(HTTP 503/);
      await expect(source.read(200_000, 10)).rejects.toThrow(expect.objectContaining({ code: 'VPTQ_LOADER_IO' }));
    } finally {
      withRanges.fail = undefined;
    }
    await expect(fetchByteSource('models/stories260K.bin')).rejects.toThrow(TypeError);
    await expect(fetchByteSource('http://127.0.0.1:1/unreachable.bin')).rejects.toThrow(LoaderError);
    await expect(source.read(-1, 4)).rejects.toThrow(RangeError);
  });

  it('sends the caller’s request settings with every request', async () => {
    const seen: (string | null)[] = [];
    const source = await fetchByteSource(`${withRanges.url}stories/stories260K.bin`, {
      init: { headers: { Authorization: 'Bearer token' } },
      fetch: (url, init) => {
        seen.push(new Headers(init.headers).get('Authorization'));
        return fetch(url, init);
      },
    });
    await source.read(100_000, 8);
    expect(seen).toEqual(['Bearer token', 'Bearer token']);
  });
});
