import type { ByteSource } from '@vptq/pack-format/safetensors';

/**
 * The files of one model by name: a directory on disk (`nodeModelFiles` of `@vptq/loader/node`), a folder on a
 * web server (`urlModelFiles`), files a user picked or bytes in memory (`createModelFiles`). A model directory
 * holds `config.json`, `model.safetensors` or the shards of `model.safetensors.index.json`, and its tokenizer
 * files; a model that is one file (a llama2.c `.bin`, a tokenizer `.bin` or `tokenizer.json`) is named by
 * `entry`. `openModelFiles` and `loadTokenizerFiles` read any of them; each file opens as a `ByteSource`, which
 * answers reads directly (local files, memory) or with Promises (`fetch`, `Blob`).
 */
export interface ModelFiles {
  /** The model directory, base URL or file, as `ModelSource.path` and error messages show it. */
  readonly path: string;
  /** The file that is the model, when it is one file (a name for `open`); absent for a model directory. */
  readonly entry?: string;
  /** How file `name` appears in error messages: a path or a URL. */
  pathOf(name: string): string;
  /**
   * Opens file `name` (relative to the directory, `/`-separated: `config.json`, `model-00001-of-00002.safetensors`).
   * Returns (or resolves to) undefined when there is no such file; other failures throw (or reject).
   */
  open(name: string): ByteSource | undefined | Promise<ByteSource | undefined>;
  /** The names of the files, where they can be listed (a local directory, picked files; not a web server). */
  list?(): readonly string[] | Promise<readonly string[]>;
}
