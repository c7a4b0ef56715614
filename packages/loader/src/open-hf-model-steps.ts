import { checkFloatTensor } from './check-float-tensor';
import { closeFile } from './file-range';
import { requiredHfTensors } from './hf-tensor-layout';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { LlamaConfig, ModelSource, TensorInfo } from './model-types';
import { parseHfConfig } from './parse-hf-config';
import { prefetchRanges } from './prefetch-ranges';
import { readFloatTensor } from './read-float-tensor';
import { readJsonSteps } from './read-json-file';
import { openSafetensorsSteps } from './safetensors-files';
import type { LocatedTensor } from './safetensors-files';

const fn = 'openHfModel';

/**
 * Opens a Hugging Face Llama-family model directory for lazy reading (see `openHfModel` of `@vptq/loader/node`):
 * config.json plus `model.safetensors` or the shards named by `model.safetensors.index.json`, from any
 * {@link ModelFiles}. Only headers are read here.
 */
export function* openHfModelSteps(dir: ModelFiles): Steps<ModelSource> {
  const configPath = dir.pathOf('config.json');
  const json = (yield* readJsonSteps(fn, dir, 'config.json', 'VPTQ_LOADER_BAD_CONFIG', false)) as Record<string, unknown>;
  const config = parseHfConfig(fn, configPath, json);
  const { files, tensors, weightsPath } = yield* openSafetensorsSteps(fn, dir);
  try {
    checkTensors(config, tensors, weightsPath);
  } catch (error) {
    for (const file of files) closeFile(file);
    throw error;
  }

  const byName = new Map(tensors.map((tensor) => [tensor.info.name, tensor]));
  const infos: TensorInfo[] = tensors.map(({ info }) => ({
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
  }));
  let open = true;
  const locate = (reader: string, name: string): LocatedTensor => {
    const located = byName.get(name);
    if (!located) {
      throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `${reader}: ${dir.path} has no tensor ${name}`, {
        path: dir.path,
        tensor: name,
      });
    }
    if (!open) {
      throw new LoaderError('VPTQ_LOADER_CLOSED', `${reader}: ${dir.path} was closed before reading ${name}`, {
        path: located.file.path,
        tensor: name,
      });
    }
    return located;
  };
  return {
    path: dir.path,
    format: 'hf',
    config,
    tensors: infos,
    readTensor(name: string): Float32Array {
      return readFloatTensor('readTensor', locate('readTensor', name));
    },
    async prefetch(names: readonly string[]): Promise<void> {
      const ranges = [...names].map((name) => {
        const { file, info } = locate('prefetch', name);
        return { file, byteOffset: info.byteOffset, byteLength: info.byteLength };
      });
      await prefetchRanges('prefetch', files, ranges);
    },
    close(): void {
      if (!open) return;
      open = false;
      for (const file of files) closeFile(file);
    },
  };
}

function checkTensors(config: LlamaConfig, tensors: readonly LocatedTensor[], weightsPath: string): void {
  const byName = new Map(tensors.map((tensor) => [tensor.info.name, tensor]));
  for (const [name, shape] of requiredHfTensors(config)) checkFloatTensor(fn, weightsPath, name, shape, byName.get(name));
}
