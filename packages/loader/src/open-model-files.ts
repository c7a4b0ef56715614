import { runAsync } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { ModelSource } from './model-types';
import { openModelSteps } from './open-model-steps';
import type { VptqModelSource } from './vptq-model-source';

/**
 * Opens a model from any {@link ModelFiles}, whatever its format (as `openModel` of `@vptq/loader/node` does for
 * paths): `files.entry` as a llama2.c checkpoint, otherwise a directory with config.json as a VPTQ packed model
 * (when it declares `quant_method: "vptq"`) or a Hugging Face model (config.json plus `model.safetensors` or the
 * shards of `model.safetensors.index.json`). Only config.json, the shard index and the headers are read here.
 * Where files answer reads with Promises (`urlModelFiles` over a server that honours Range requests, `Blob`s),
 * call `prefetch` with the tensors to read before reading them.
 *
 * @example
 * ```ts
 * const model = await openModelFiles(urlModelFiles('https://example.com/models/stories260K-vptq/'));
 * await model.prefetch(['model.embed_tokens.weight']);
 * const embeddings = model.readTensor('model.embed_tokens.weight');
 * model.close();
 * ```
 * @returns a ModelSource (a {@link VptqModelSource} for VPTQ directories: narrow with `'readQuantizedLayer' in
 * model`); call `close()` when done.
 * @throws {TypeError} if `files` is not a ModelFiles.
 * @throws {LoaderError} (as a rejection) VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (no entry and no
 * config.json), VPTQ_LOADER_IO (a request failed), or any error of the format's reader, naming the file.
 */
export async function openModelFiles(files: ModelFiles): Promise<ModelSource | VptqModelSource> {
  checkModelFiles('openModelFiles', files);
  return runAsync(openModelSteps('openModelFiles', files));
}

/** Throws a TypeError naming `fn` unless `files` looks like a {@link ModelFiles}. */
export function checkModelFiles(fn: string, files: ModelFiles): void {
  if (typeof files !== 'object' || files === null || typeof files.open !== 'function' || typeof files.pathOf !== 'function' || typeof files.path !== 'string') {
    throw new TypeError(`${fn}: files must be a ModelFiles (urlModelFiles, createModelFiles or nodeModelFiles) (got ${files === null ? 'null' : typeof files})`);
  }
}
