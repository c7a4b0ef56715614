import { readFileSync } from 'node:fs';

import type { FinalizedHessian } from '@vptq/hessian';
import { createByteSource, encodeSafetensors, parseSafetensorsHeader, readSafetensorsTensor } from '@vptq/pack-format/safetensors';

import { writeFileAtomic } from '../quantize/write-atomic';

/**
 * Writes a finalized Hessian (E[xxᵀ] `[n, n]` f64, mean `[n]` f64, token count) as safetensors, atomically, so
 * that a worker reads back exactly the f64 bytes the coordinator's calibration produced.
 */
export function writeHessianFile(path: string, hessian: FinalizedHessian): void {
  writeFileAtomic(
    path,
    encodeSafetensors(
      [
        { name: 'hessian', dtype: 'F64', shape: [hessian.size, hessian.size], data: hessian.data },
        { name: 'mean', dtype: 'F64', shape: [hessian.size], data: hessian.mean },
      ],
      { tokens: String(hessian.tokens) },
    ),
  );
}

/**
 * Reads a Hessian written by {@link writeHessianFile}.
 *
 * @throws {Error} naming the file when a tensor or the token count is missing or has the wrong shape.
 */
export function readHessianFile(path: string): FinalizedHessian {
  const source = createByteSource(new Uint8Array(readFileSync(path)));
  const header = parseSafetensorsHeader(source, path);
  const read = (name: string): Float64Array => {
    const info = header.tensors.find((tensor) => tensor.name === name);
    if (!info || info.dtype !== 'F64') throw new Error(`Hessian file ${path}: no F64 tensor ${name}`);
    const bytes = readSafetensorsTensor(source, info, path);
    return new Float64Array(bytes.slice().buffer);
  };
  const data = read('hessian');
  const mean = read('mean');
  const tokens = Number(header.metadata.tokens);
  if (!Number.isSafeInteger(tokens) || tokens < 1 || data.length !== mean.length * mean.length) {
    throw new Error(`Hessian file ${path}: expected [n, n] and [n] f64 tensors and a token count (got ${data.length} and ${mean.length} values, tokens ${header.metadata.tokens})`);
  }
  return { data, mean, size: mean.length, tokens };
}
