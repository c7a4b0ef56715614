import { describe, expect, it } from 'vitest';

import { blobByteSource } from './blob-byte-source';
import { createModelFiles } from './create-model-files';

const bytes = Uint8Array.from({ length: 300 }, (_, index) => (index * 7) % 251);

/** A File as `<input webkitdirectory>` gives it: with the path below the picked folder's parent. */
function pickedFile(relativePath: string, data: Uint8Array): File {
  const file = new File([data], relativePath.slice(relativePath.lastIndexOf('/') + 1));
  Object.defineProperty(file, 'webkitRelativePath', { value: relativePath });
  return file;
}

describe('blobByteSource', () => {
  it('reads slices of a Blob, asynchronously', async () => {
    const source = blobByteSource(new Blob([bytes]));
    expect(source.byteLength).toBe(300);
    const pending = source.read(10, 20);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(bytes.subarray(10, 30));
    expect(await source.read(290, 50)).toEqual(bytes.subarray(290));
    await expect(source.read(0.5, 2)).rejects.toThrow(RangeError);
    expect(() => blobByteSource(bytes as never)).toThrow(/blob must be a Blob or File/);
  });
});

describe('createModelFiles', () => {
  it('opens bytes synchronously and Blobs asynchronously, by name', async () => {
    const files = createModelFiles({ 'config.json': bytes.buffer, 'a/model.safetensors': new Blob([bytes]), 'tokenizer.bin': bytes.subarray(100) });
    expect(files.path).toBe('memory');
    expect(files.entry).toBeUndefined();
    expect(files.list?.()).toEqual(['a/model.safetensors', 'config.json', 'tokenizer.bin']);
    expect(files.pathOf('config.json')).toBe('memory/config.json');
    const config = files.open('config.json');
    expect(config && 'read' in config && config.read(0, 5)).toEqual(bytes.subarray(0, 5));
    const tokenizer = files.open('tokenizer.bin');
    expect(tokenizer && 'read' in tokenizer && tokenizer.read(0, 5)).toEqual(bytes.subarray(100, 105));
    const weights = files.open('a/model.safetensors');
    expect(weights && 'read' in weights && (await weights.read(0, 5))).toEqual(bytes.subarray(0, 5));
    expect(files.open('absent.json')).toBeUndefined();
    const fromMap = createModelFiles(new Map([['config.json', bytes]]), { path: 'mine' });
    expect(fromMap.pathOf('config.json')).toBe('mine/config.json');
  });

  it('names picked files below the picked folder, and takes one file as the entry', async () => {
    const files = createModelFiles([pickedFile('stories/config.json', bytes), pickedFile('stories/sub/tokenizer.bin', bytes)]);
    expect(files.path).toBe('stories');
    expect(files.list?.()).toEqual(['config.json', 'sub/tokenizer.bin']);
    const single = createModelFiles(new File([bytes], 'stories260K.bin'));
    expect(single.entry).toBe('stories260K.bin');
    expect(single.path).toBe('stories260K.bin');
    expect(single.pathOf('tok512.bin')).toBe('tok512.bin');
    expect(createModelFiles(bytes, { name: 'tok512.bin' }).entry).toBe('tok512.bin');
    expect(createModelFiles(new Blob([bytes])).entry).toBe('model.bin');
  });

  it('rejects what is not a file', () => {
    expect(() => createModelFiles(42 as never)).toThrow(/input must be a Blob, bytes, a list of Files or a map of named files \(got number\)/);
    expect(() => createModelFiles({ 'config.json': 'text' } as never)).toThrow(/file config\.json must be a Blob, ArrayBuffer or typed array \(got string\)/);
    expect(() => createModelFiles(['x'] as never)).toThrow(/a list must hold File objects/);
  });
});
