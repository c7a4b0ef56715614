import { LoaderError } from './loader-error';
import { floatDtypes, unsupportedDtype } from './read-float-tensor';
import type { LocatedTensor } from './safetensors-files';

/**
 * Checks, from the header alone, that a required unquantized tensor is present, F32/F16/BF16 and of `shape`.
 *
 * @param weightsPath - where tensor names are listed (`model.safetensors` or the shard index), for a missing one.
 * @param hint - appended to the message when the tensor is missing.
 * @throws {LoaderError} VPTQ_LOADER_UNKNOWN_TENSOR, VPTQ_LOADER_UNSUPPORTED_DTYPE or VPTQ_LOADER_SHAPE_MISMATCH.
 */
export function checkFloatTensor(
  fn: string,
  weightsPath: string,
  name: string,
  shape: readonly number[],
  located: LocatedTensor | undefined,
  hint = '',
): void {
  if (!located) {
    throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `${fn}: ${weightsPath}: required tensor ${name} [${shape.join(', ')}] is missing${hint}`, {
      path: weightsPath,
      tensor: name,
    });
  }
  const { info, file } = located;
  if (!floatDtypes.has(info.dtype)) throw unsupportedDtype(fn, file.path, name, info.dtype);
  if (!sameShape(info.shape, shape)) {
    throw new LoaderError(
      'VPTQ_LOADER_SHAPE_MISMATCH',
      `${fn}: ${file.path}: tensor ${name} has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      { path: file.path, tensor: name },
    );
  }
}

/** Whether two shapes are equal, axis by axis. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}
