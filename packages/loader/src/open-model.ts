import { runSync } from './loader-steps';
import type { ModelSource } from './model-types';
import { nodeFilesAt } from './node-model-files';
import { openModelSteps } from './open-model-steps';
import type { VptqModelSource } from './vptq-model-source';

/**
 * Opens a model whatever its format: a file is read as a llama2.c checkpoint (`openLlama2c`); a directory
 * with config.json as a VPTQ packed model (`openVptqModel`) when config.json declares VPTQ quantization
 * (`quant_method: "vptq"` in `quantization_config` or `text_config.quantization_config`, or a legacy top-level
 * `quant_config`), otherwise as a Hugging Face model (`openHfModel`, which rejects other quantization methods).
 * `openModelFiles` does the same for a URL, picked files or bytes.
 *
 * @param path - A llama2.c `.bin` file or a model directory.
 * @returns A lazily read ModelSource (a {@link VptqModelSource} for VPTQ directories: narrow with
 * `'readQuantizedLayer' in model`); call `close()` when done.
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_UNKNOWN_FORMAT (a directory without config.json),
 * or any error of the format's reader.
 */
export function openModel(path: string): ModelSource | VptqModelSource {
  if (typeof path !== 'string' || path.length === 0) {
    throw new TypeError(`openModel: path must be a non-empty string (got ${String(path)})`);
  }
  return runSync('openModel', openModelSteps('openModel', nodeFilesAt('openModel', path)));
}
