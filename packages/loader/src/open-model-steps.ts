import { findDeclaredQuantization } from './find-declared-quantization';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { ModelSource } from './model-types';
import { openHfModelSteps } from './open-hf-model-steps';
import { openLlama2cSteps } from './open-llama2c-steps';
import { openVptqModelSteps } from './open-vptq-model-steps';
import { readJsonSteps } from './read-json-file';
import type { VptqModelSource } from './vptq-model-source';

/**
 * Opens a model whatever its format: `files.entry` as a llama2.c checkpoint; otherwise a directory with
 * config.json, as a VPTQ packed model when config.json declares VPTQ quantization (`quant_method: "vptq"` in
 * `quantization_config` or `text_config.quantization_config`, or a legacy top-level `quant_config`), else as a
 * Hugging Face model (which rejects other quantization methods).
 *
 * @throws {LoaderError} VPTQ_LOADER_UNKNOWN_FORMAT (a directory without config.json), or any error of the
 * format's reader.
 */
export function* openModelSteps(fn: string, files: ModelFiles): Steps<ModelSource | VptqModelSource> {
  if (files.entry !== undefined) return yield* openLlama2cSteps(files);
  const json = yield* readJsonSteps(fn, files, 'config.json', 'VPTQ_LOADER_BAD_CONFIG', true);
  if (json === undefined) {
    throw new LoaderError(
      'VPTQ_LOADER_UNKNOWN_FORMAT',
      `${fn}: ${files.path} is neither a llama2.c .bin file nor a model directory with config.json`,
      { path: files.path },
    );
  }
  return findDeclaredQuantization(json)?.method === 'vptq' ? yield* openVptqModelSteps(files) : yield* openHfModelSteps(files);
}
