import { PackFormatError } from '@vptq/pack-format';
import { maxSafetensorsHeaderByteLength, parseSafetensorsHeader } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInfo } from '@vptq/pack-format/safetensors';

import { closeFile, openFileSteps, readRangeSteps } from './file-range';
import type { LoaderFile } from './file-range';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import { readJsonSteps } from './read-json-file';

/** A tensor located in one of the opened safetensors files. */
export interface LocatedTensor {
  readonly info: SafetensorsTensorInfo;
  readonly file: LoaderFile;
}

/** The safetensors files of a model directory, opened, with their headers parsed. */
export interface SafetensorsFiles {
  readonly files: readonly LoaderFile[];
  /** `model.safetensors`, or the index file when the model is sharded: where tensor names are listed. */
  readonly weightsPath: string;
  /** Every tensor, shard by shard in index order, each in file order. */
  readonly tensors: readonly LocatedTensor[];
}

/**
 * Opens `model.safetensors`, or every shard named by `model.safetensors.index.json` (`weight_map`: tensor name →
 * shard file), and parses their headers. Tensors the index names must be in the shard it names.
 */
export function* openSafetensorsSteps(fn: string, dir: ModelFiles): Steps<SafetensorsFiles> {
  const indexPath = dir.pathOf('model.safetensors.index.json');
  const index = yield* readJsonSteps(fn, dir, 'model.safetensors.index.json', 'VPTQ_LOADER_BAD_SAFETENSORS', true);
  const opened: LoaderFile[] = [];
  try {
    if (index === undefined) {
      const path = dir.pathOf('model.safetensors');
      const file = yield* openFileSteps(fn, dir, 'model.safetensors');
      if (file === undefined) throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: ${path} does not exist`, { path });
      opened.push(file);
      const header = yield* readHeaderSteps(fn, file);
      return { files: opened, weightsPath: path, tensors: header.map((info) => ({ info, file })) };
    }

    const weightMap = index.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
      throw new LoaderError('VPTQ_LOADER_BAD_SAFETENSORS', `${fn}: ${indexPath}: weight_map must be an object of tensor name → shard file`, {
        path: indexPath,
        field: 'weight_map',
      });
    }
    const shardOf = new Map<string, string>();
    const shardOrder: string[] = [];
    for (const [tensor, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string' || shard.length === 0 || !isInsideDirectory(shard)) {
        throw new LoaderError(
          'VPTQ_LOADER_BAD_SAFETENSORS',
          `${fn}: ${indexPath}: weight_map["${tensor}"] must be a file name inside the directory (got ${JSON.stringify(shard)})`,
          { path: indexPath, tensor, field: 'weight_map' },
        );
      }
      if (!shardOrder.includes(shard)) shardOrder.push(shard);
      shardOf.set(tensor, shard);
    }
    if (shardOf.size === 0) {
      throw new LoaderError('VPTQ_LOADER_BAD_SAFETENSORS', `${fn}: ${indexPath}: weight_map is empty`, {
        path: indexPath,
        field: 'weight_map',
      });
    }

    const tensors: LocatedTensor[] = [];
    const seen = new Map<string, string>();
    for (const shard of shardOrder) {
      const path = dir.pathOf(shard);
      const firstTensor = (): string | undefined => [...shardOf].find(([, name]) => name === shard)?.[0];
      let file: LoaderFile | undefined;
      try {
        file = yield* openFileSteps(fn, dir, shard);
      } catch (error) {
        throw new LoaderError(
          (error as LoaderError).code ?? 'VPTQ_LOADER_IO',
          `${fn}: shard ${path} named by ${indexPath} for tensor ${firstTensor()} cannot be opened (${(error as Error).message})`,
          { path, tensor: firstTensor(), cause: error },
        );
      }
      if (file === undefined) {
        throw new LoaderError(
          'VPTQ_LOADER_NOT_FOUND',
          `${fn}: shard ${path} named by ${indexPath} for tensor ${firstTensor()} cannot be opened (it does not exist)`,
          { path, tensor: firstTensor() },
        );
      }
      opened.push(file);
      for (const info of yield* readHeaderSteps(fn, file)) {
        const previous = seen.get(info.name);
        if (previous !== undefined) {
          throw new LoaderError(
            'VPTQ_LOADER_BAD_SAFETENSORS',
            `${fn}: tensor ${info.name} is in both ${dir.pathOf(previous)} and ${path}`,
            { path, tensor: info.name },
          );
        }
        seen.set(info.name, shard);
        tensors.push({ info, file });
      }
    }
    for (const [tensor, shard] of shardOf) {
      if (seen.get(tensor) !== shard) {
        throw new LoaderError(
          'VPTQ_LOADER_BAD_SAFETENSORS',
          `${fn}: ${indexPath} puts tensor ${tensor} in ${shard}, but ${
            seen.has(tensor) ? `it is in ${seen.get(tensor)}` : 'no shard holds it'
          }`,
          { path: dir.pathOf(shard), tensor },
        );
      }
    }
    return { files: opened, weightsPath: indexPath, tensors };
  } catch (error) {
    for (const file of opened) closeFile(file);
    throw error;
  }
}

/**
 * Whether a shard name from an index stays inside the model directory: relative, and not climbing out with `..`
 * (`path.normalize(name)` must not start with `..`, as for files on disk).
 */
function isInsideDirectory(name: string): boolean {
  if (/^([/\\]|[A-Za-z]:)/.test(name)) return false;
  const parts: string[] = [];
  for (const part of name.split(/[/\\]/)) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts.at(-1) !== '..') parts.pop();
    else parts.push(part);
  }
  return !(parts[0] ?? '').startsWith('..');
}

/**
 * Reads a safetensors header: the 8-byte length, then the JSON (both waiting for asynchronous sources), parsed
 * and validated by `@vptq/pack-format` against the file's full length.
 */
function* readHeaderSteps(fn: string, file: LoaderFile): Steps<readonly SafetensorsTensorInfo[]> {
  let prefix = yield* readRangeSteps(fn, file, 0, Math.min(8, file.byteLength), { field: 'header length' });
  if (prefix.byteLength === 8) {
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
    // Out-of-range lengths are left for the parser to report; it reads nothing past the length then.
    if (headerLength <= file.byteLength - 8 && headerLength <= maxSafetensorsHeaderByteLength) {
      prefix = yield* readRangeSteps(fn, file, 0, 8 + headerLength, { field: 'header' });
    }
  }
  const bytes = prefix;
  try {
    return parseSafetensorsHeader(
      { byteLength: file.byteLength, read: (byteOffset, byteLength) => bytes.subarray(byteOffset, byteOffset + byteLength) },
      file.path,
    ).tensors;
  } catch (error) {
    if (!(error instanceof PackFormatError)) throw error;
    throw new LoaderError(
      error.code === 'VPTQ_PACK_SAFETENSORS_TRUNCATED' ? 'VPTQ_LOADER_TRUNCATED' : 'VPTQ_LOADER_BAD_SAFETENSORS',
      `${fn}: ${error.message}`,
      { path: file.path, tensor: error.tensor, byteOffset: error.byteOffset, cause: error },
    );
  }
}
