import type { ByteSource } from './byte-source';
import { decodeTensorF32 } from './decode-tensor-f32';
import { decodeTensorIntegers, decodeTensorUint16, decodeTensorUint32 } from './decode-tensor-integers';
import type { FloatTensor } from './float-tensor';
import { getVptqLayerLayout } from './get-vptq-layer-layout';
import { PackFormatError } from './pack-format-error';
import type { SafetensorsHeader } from './parse-safetensors-header';
import { readSafetensorsTensor } from './read-safetensors-tensor';
import { safetensorsDtypeByteSize, type SafetensorsDtype } from './safetensors-dtype';
import type { VptqLayerConfig } from './vptq-layer-config';
import { isPermutation, specsFor, type VptqLayerTensors } from './vptq-layer-tensors';

/** A tensor as stored: dtype, shape and raw little-endian bytes. */
export interface StoredTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Finds a stored tensor by full name, or returns undefined; lets one layer span several shards. */
export type StoredTensorLookup = (name: string) => StoredTensor | undefined;

/**
 * A {@link StoredTensorLookup} over one safetensors file that reads each tensor from the source only
 * when asked for it.
 *
 * @param source - the file's bytes.
 * @param header - its parsed header.
 * @param label - the file name for error messages.
 */
export function createStoredTensorLookup(source: ByteSource<Uint8Array>, header: SafetensorsHeader, label: string): StoredTensorLookup {
  return (name) => {
    const info = header.byName.get(name);
    if (info === undefined) return undefined;
    return { dtype: info.dtype, shape: info.shape, data: readSafetensorsTensor(source, info, label) };
  };
}

/**
 * Reads and validates one layer's tensors (spec §5.2): every tensor the config requires must be present
 * with the expected shape and dtype — codebooks, norm and bias F16/BF16/F32; `indices` I32 (U32
 * accepted); `outlier_indices` I16 or U16 (F16 with `indicesAsFloat`); `perm` I16/U16 or the legacy I64,
 * and a permutation of 0..in−1. Outlier indices must be below Ko. Tensors the config does not use (such
 * as a stray `res_indices`) are not read.
 *
 * @param moduleName - e.g. `model.layers.0.self_attn.q_proj`; tensor names are `moduleName + '.' + suffix`.
 * @param config - the layer config the tensors must match.
 * @param getTensor - where to find the tensors (see {@link createStoredTensorLookup}).
 * @param label - the file or model name for error messages.
 * @returns the layer's tensors; `indices` as uint32 words, perm and outlier indices as uint16.
 * @throws {PackFormatError} `VPTQ_PACK_MISSING_TENSOR`, `VPTQ_PACK_TENSOR_MISMATCH` (naming the tensor
 * and the expected dtype and shape) or `VPTQ_PACK_INDEX_RANGE`.
 */
export function readVptqLayerTensors(
  moduleName: string,
  config: VptqLayerConfig,
  getTensor: StoredTensorLookup,
  label = 'model',
): VptqLayerTensors {
  const layout = getVptqLayerLayout(config);
  const result: Record<string, unknown> = {};
  for (const spec of specsFor(layout)) {
    const name = `${moduleName}.${spec.suffix}`;
    const stored = getTensor(name);
    if (stored === undefined) {
      throw new PackFormatError('VPTQ_PACK_MISSING_TENSOR', `${label}: tensor "${name}" is required by the layer config but absent`, {
        label,
        tensor: name,
      });
    }
    const allowed: readonly SafetensorsDtype[] =
      spec.key === 'indices'
        ? ['I32', 'U32']
        : spec.key === 'outlierIndices'
          ? config.indicesAsFloat
            ? ['F16']
            : ['I16', 'U16']
          : spec.key === 'perm'
            ? ['I16', 'U16', 'I64']
            : ['F16', 'BF16', 'F32'];
    const shapeMatches = stored.shape.length === spec.shape.length && stored.shape.every((dimension, i) => dimension === spec.shape[i]);
    if (!allowed.includes(stored.dtype) || !shapeMatches) {
      throw new PackFormatError(
        'VPTQ_PACK_TENSOR_MISMATCH',
        `${label}: tensor "${name}" must be ${allowed.join('/')} [${spec.shape.join(', ')}] for this layer config (got ${stored.dtype} [${stored.shape.join(', ')}])`,
        { label, tensor: name },
      );
    }
    const byteLength = spec.shape.reduce((product, dimension) => product * dimension, 1) * safetensorsDtypeByteSize(stored.dtype);
    if (!(stored.data instanceof Uint8Array) || stored.data.byteLength !== byteLength) {
      throw new PackFormatError(
        'VPTQ_PACK_TENSOR_MISMATCH',
        `${label}: tensor "${name}" must hold ${byteLength} bytes for ${stored.dtype} [${spec.shape.join(', ')}] (got ${stored.data?.byteLength})`,
        { label, tensor: name },
      );
    }
    switch (spec.key) {
      case 'indices':
        result.indices = decodeTensorUint32(stored.data, stored.dtype, name);
        break;
      case 'outlierIndices': {
        const indices = decodeTensorUint16(stored.data, stored.dtype, name);
        const bad = indices.findIndex((index) => index >= layout.numOutlierCentroids);
        if (bad >= 0) {
          throw rangeError(label, name, `element ${bad} is ${indices[bad]}, not below the ${layout.numOutlierCentroids} outlier centroids`);
        }
        result.outlierIndices = indices;
        break;
      }
      case 'perm': {
        const values =
          stored.dtype === 'I64' ? decodeTensorIntegers(stored.data, stored.dtype, name) : decodeTensorUint16(stored.data, stored.dtype, name);
        if (!isPermutation(values)) throw rangeError(label, name, `is not a permutation of 0..${layout.inFeatures - 1}`);
        result.perm = Uint16Array.from(values);
        break;
      }
      default:
        result[spec.key] = readFloat(stored, name);
    }
  }
  return result as unknown as VptqLayerTensors;
}

function readFloat(stored: StoredTensor, name: string): FloatTensor {
  if (stored.dtype === 'F32') return { dtype: 'F32', data: decodeTensorF32(stored.data, 'F32', name) };
  return { dtype: stored.dtype as 'F16' | 'BF16', data: decodeTensorUint16(stored.data, stored.dtype, name) };
}

function rangeError(label: string, tensor: string, detail: string): PackFormatError {
  return new PackFormatError('VPTQ_PACK_INDEX_RANGE', `${label}: tensor "${tensor}" ${detail}`, { label, tensor });
}
