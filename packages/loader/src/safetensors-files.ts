import { readSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';

import { PackFormatError } from '@vptq/pack-format';
import { parseSafetensorsHeader } from '@vptq/pack-format/safetensors';
import type { ByteSource, SafetensorsTensorInfo } from '@vptq/pack-format/safetensors';

import { closeFile, openFile } from './file-range';
import type { OpenFile } from './file-range';
import { LoaderError } from './loader-error';
import { readJsonObject } from './read-json-file';

/** A tensor located in one of the opened safetensors files. */
export interface LocatedTensor {
  readonly info: SafetensorsTensorInfo;
  readonly file: OpenFile;
}

/** The safetensors files of a model directory, opened, with their headers parsed. */
export interface SafetensorsFiles {
  readonly files: readonly OpenFile[];
  /** `model.safetensors`, or the index file when the model is sharded: where tensor names are listed. */
  readonly weightsPath: string;
  /** Every tensor, shard by shard in index order, each in file order. */
  readonly tensors: readonly LocatedTensor[];
}

/**
 * Opens `model.safetensors`, or every shard named by `model.safetensors.index.json` (`weight_map`: tensor name →
 * shard file), and parses their headers. Tensors the index names must be in the shard it names.
 */
export function openSafetensorsFiles(fn: string, dir: string): SafetensorsFiles {
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = readJsonObject(fn, indexPath, 'VPTQ_LOADER_BAD_SAFETENSORS', true);
  const opened: OpenFile[] = [];
  try {
    if (index === undefined) {
      const path = join(dir, 'model.safetensors');
      const file = openFile(fn, path);
      opened.push(file);
      const header = parseHeader(fn, file);
      return { files: opened, weightsPath: path, tensors: header.tensors.map((info) => ({ info, file })) };
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
      if (typeof shard !== 'string' || shard.length === 0 || isAbsolute(shard) || normalize(shard).startsWith('..')) {
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
      const path = join(dir, shard);
      let file: OpenFile;
      try {
        file = openFile(fn, path);
      } catch (error) {
        const firstTensor = [...shardOf].find(([, name]) => name === shard)?.[0];
        throw new LoaderError(
          (error as LoaderError).code,
          `${fn}: shard ${path} named by ${indexPath} for tensor ${firstTensor} cannot be opened (${(error as Error).message})`,
          { path, tensor: firstTensor, cause: error },
        );
      }
      opened.push(file);
      for (const info of parseHeader(fn, file).tensors) {
        const previous = seen.get(info.name);
        if (previous !== undefined) {
          throw new LoaderError(
            'VPTQ_LOADER_BAD_SAFETENSORS',
            `${fn}: tensor ${info.name} is in both ${join(dir, previous)} and ${path}`,
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
          { path: join(dir, shard), tensor },
        );
      }
    }
    return { files: opened, weightsPath: indexPath, tensors };
  } catch (error) {
    for (const file of opened) closeFile(file);
    throw error;
  }
}

function parseHeader(fn: string, file: OpenFile): { tensors: readonly SafetensorsTensorInfo[] } {
  try {
    return parseSafetensorsHeader(fileByteSource(file), file.path);
  } catch (error) {
    if (!(error instanceof PackFormatError)) throw error;
    throw new LoaderError(
      error.code === 'VPTQ_PACK_SAFETENSORS_TRUNCATED' ? 'VPTQ_LOADER_TRUNCATED' : 'VPTQ_LOADER_BAD_SAFETENSORS',
      `${fn}: ${error.message}`,
      { path: file.path, tensor: error.tensor, byteOffset: error.byteOffset, cause: error },
    );
  }
}

/** A pack-format ByteSource over an open file; short reads come back short, as the interface asks. */
export function fileByteSource(file: OpenFile): ByteSource {
  return {
    byteLength: file.byteLength,
    read(byteOffset: number, byteLength: number): Uint8Array {
      const available = Math.max(0, Math.min(byteLength, file.byteLength - byteOffset));
      const bytes = new Uint8Array(available);
      let done = 0;
      while (done < available) {
        const count = readSync(file.fd, bytes, done, available - done, byteOffset + done);
        if (count === 0) return bytes.subarray(0, done);
        done += count;
      }
      return bytes;
    },
  };
}
