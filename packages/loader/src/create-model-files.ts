import { createByteSource } from '@vptq/pack-format/safetensors';
import type { ByteSource } from '@vptq/pack-format/safetensors';

import { blobByteSource } from './blob-byte-source';
import type { ModelFiles } from './model-files';

/** The contents of one file: a `Blob` or `File` (read slice by slice), or bytes in memory. */
export type ModelFileData = Blob | ArrayBuffer | ArrayBufferView;

/**
 * What {@link createModelFiles} accepts: one file (a llama2.c `.bin` or a tokenizer file), or the files of a model
 * directory: a `FileList` / `File[]` (from `<input type="file" webkitdirectory>` or a drop; named by their
 * `webkitRelativePath` below the picked folder, else by `name`), or a `Map` / plain object from file name to data.
 */
export type ModelFilesInput =
  | ModelFileData
  | Iterable<File>
  | ReadonlyMap<string, ModelFileData>
  | { readonly [name: string]: ModelFileData };

/** Options of {@link createModelFiles}. */
export interface CreateModelFilesOptions {
  /** How the model is named in `ModelSource.path` and error messages. Default: the picked folder's or the file's name, else `'memory'`. */
  readonly path?: string;
  /** The name of a single file given as a Blob or bytes (a `File` has its own). Default `'model.bin'`. */
  readonly name?: string;
}

/**
 * The {@link ModelFiles} of files a user picked or bytes in memory. `Blob`s open as asynchronous sources (so
 * `ModelSource.prefetch` fetches tensors from them), bytes as synchronous ones (read directly, as views).
 *
 * @example
 * ```ts
 * // <input type="file" webkitdirectory> holding config.json, model.safetensors, tokenizer.bin
 * const files = createModelFiles(input.files);
 * const model = await openModelFiles(files);
 * // one llama2.c checkpoint in memory
 * const llama2c = await openModelFiles(createModelFiles(await response.arrayBuffer(), { name: 'stories260K.bin' }));
 * ```
 * @throws {TypeError} for anything else, or a file whose data is not a Blob, ArrayBuffer or typed array.
 */
export function createModelFiles(input: ModelFilesInput, options: CreateModelFilesOptions = {}): ModelFiles {
  if (isFileData(input)) {
    const name = options.name ?? (isNamedFile(input) && input.name.length > 0 ? input.name : 'model.bin');
    const path = options.path ?? name;
    const data = new Map([[name, input]]);
    return filesOf(data, path, (other) => (other === name ? path : other), name);
  }
  let entries: [string, unknown][];
  let root: string | undefined;
  if (input instanceof Map) {
    entries = [...input];
  } else if (typeof input === 'object' && input !== null && typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const picked = [...(input as Iterable<unknown>)];
    for (const file of picked) {
      if (!isNamedFile(file)) throw new TypeError(`createModelFiles: a list must hold File objects (got ${describe(file)})`);
    }
    const relative = (picked as File[]).map((file) => (file as { webkitRelativePath?: string }).webkitRelativePath ?? '');
    const first = relative[0]?.split('/')[0] ?? '';
    const shared = first.length > 0 && relative.every((path) => path.startsWith(`${first}/`));
    root = shared ? first : undefined;
    entries = (picked as File[]).map((file, index) => [shared ? relative[index].slice(first.length + 1) : file.name, file]);
  } else if (typeof input === 'object' && input !== null) {
    entries = Object.entries(input);
  } else {
    throw new TypeError(`createModelFiles: input must be a Blob, bytes, a list of Files or a map of named files (got ${describe(input)})`);
  }
  const data = new Map<string, ModelFileData>();
  for (const [name, value] of entries) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(`createModelFiles: file names must be non-empty strings (got ${describe(name)})`);
    if (!isFileData(value)) throw new TypeError(`createModelFiles: file ${name} must be a Blob, ArrayBuffer or typed array (got ${describe(value)})`);
    data.set(name, value);
  }
  const path = options.path ?? root ?? 'memory';
  return filesOf(data, path, (name) => `${path}/${name}`, undefined);
}

function filesOf(data: ReadonlyMap<string, ModelFileData>, path: string, pathOf: (name: string) => string, entry: string | undefined): ModelFiles {
  return {
    path,
    entry,
    pathOf,
    open: (name) => {
      const value = data.get(name);
      return value === undefined ? undefined : sourceOf(value);
    },
    list: () => [...data.keys()].sort(),
  };
}

function sourceOf(value: ModelFileData): ByteSource {
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    return createByteSource(new Uint8Array(value));
  }
  if (ArrayBuffer.isView(value)) return createByteSource(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return blobByteSource(value);
}

function isFileData(value: unknown): value is ModelFileData {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) ||
    ArrayBuffer.isView(value) ||
    isBlob(value)
  );
}

function isBlob(value: unknown): value is Blob {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

function isNamedFile(value: unknown): value is File {
  return isBlob(value) && typeof (value as { name?: unknown }).name === 'string';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
