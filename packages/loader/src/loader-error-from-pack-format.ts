import type { PackFormatError, PackFormatErrorCode } from '@vptq/pack-format';

import { LoaderError } from './loader-error';
import type { LoaderErrorCode } from './loader-error';

const codes: Record<PackFormatErrorCode, LoaderErrorCode> = {
  VPTQ_PACK_SAFETENSORS_HEADER: 'VPTQ_LOADER_BAD_SAFETENSORS',
  VPTQ_PACK_SAFETENSORS_TENSOR: 'VPTQ_LOADER_BAD_SAFETENSORS',
  VPTQ_PACK_SAFETENSORS_TRUNCATED: 'VPTQ_LOADER_TRUNCATED',
  VPTQ_PACK_UNSUPPORTED_DTYPE: 'VPTQ_LOADER_UNSUPPORTED_DTYPE',
  VPTQ_PACK_CONFIG: 'VPTQ_LOADER_BAD_CONFIG',
  VPTQ_PACK_MISSING_TENSOR: 'VPTQ_LOADER_UNKNOWN_TENSOR',
  VPTQ_PACK_TENSOR_MISMATCH: 'VPTQ_LOADER_SHAPE_MISMATCH',
  VPTQ_PACK_INDEX_RANGE: 'VPTQ_LOADER_INDEX_RANGE',
};

/**
 * The LoaderError for a pack-format failure met while reading `path`: the code mapped to its loader twin, the
 * message prefixed with `fn`, the pack-format error kept as `cause`.
 */
export function loaderErrorFromPackFormat(
  fn: string,
  path: string,
  error: PackFormatError,
  details: { readonly tensor?: string; readonly field?: string; readonly code?: LoaderErrorCode } = {},
): LoaderError {
  const message = error.message.includes(path) ? error.message : `${path}: ${error.message}`;
  return new LoaderError(details.code ?? codes[error.code] ?? 'VPTQ_LOADER_BAD_CONFIG', `${fn}: ${message}`, {
    path,
    tensor: details.tensor ?? error.tensor,
    field: details.field,
    byteOffset: error.byteOffset,
    cause: error,
  });
}
