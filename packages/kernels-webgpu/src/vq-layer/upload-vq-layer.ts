import { floatTensorToF32, getVptqLayerLayout, packIndices, packedRowWords } from '@vptq/pack-format';
import type { FloatTensor, VptqLayerConfig, VptqLayerLayout, VptqLayerTensors } from '@vptq/pack-format';

import { bufferUsage } from '../gpu-flags';
import { paddedByteLength } from '../buffers';

/** WGSL code of a codebook's storage format: 0 = f32, 1 = f16 bits, 2 = bf16 bits. */
export type CodebookFormatCode = 0 | 1 | 2;

/**
 * One VPTQ layer resident on the GPU, in the packed format itself (never dequantized): the `indices` words
 * as stored, codebooks at their stored precision, and small per-column tensors widened to f32. Outlier
 * indices (stored unpacked as uint16) are repacked at upload into the same LSB-first bitstream layout as
 * `indices` (one row per outlier vector-row, log2 Ko bits per field) so that one decoder serves both parts.
 * Create with {@link uploadVqLayer}; free with {@link GpuVqLayer.destroy}.
 */
export class GpuVqLayer {
  readonly config: VptqLayerConfig;
  readonly layout: VptqLayerLayout;
  /** `[G, R, P]` u32 words plus 2 zero words, so a decoder may always read one word ahead. */
  readonly indices: GPUBuffer;
  /** `[G, K·v]` codebook words (f16/bf16 pairs or f32), padded to 16 bytes. */
  readonly centroids: GPUBuffer;
  readonly centroidFormat: CodebookFormatCode;
  /** `[G, Kr·v]`, when the layer has a residual codebook. */
  readonly residualCentroids: GPUBuffer | undefined;
  readonly residualFormat: CodebookFormatCode;
  /** `[Ro, outlierRowWords]` u32 repacked outlier fields (+2 zero words), when the layer has outliers. */
  readonly outlierIndices: GPUBuffer | undefined;
  /** Words per repacked outlier row: ceil(O · log2 Ko / 32). */
  readonly outlierRowWords: number;
  /** `[Ko·vo]` outlier codebook, when the layer has outliers. */
  readonly outlierCentroids: GPUBuffer | undefined;
  readonly outlierFormat: CodebookFormatCode;
  /** `[in]` u32 `perm` (original column of quantized position p), when `enablePerm`. */
  readonly perm: GPUBuffer | undefined;
  /** `[in]` u32 `argsort(perm)` (quantized position of original column c), when `enablePerm`. */
  readonly inversePerm: GPUBuffer | undefined;
  /** `[2, in]` f32: weight_scale then weight_bias, original column order, when `enableNorm`. */
  readonly norm: GPUBuffer | undefined;
  /** `[out]` f32 layer bias, when the layer has one. */
  readonly bias: GPUBuffer | undefined;
  /** Bytes of GPU memory held. */
  readonly byteLength: number;
  private readonly buffers: readonly GPUBuffer[];

  /** Use {@link uploadVqLayer}. */
  constructor(fields: Omit<GpuVqLayer, 'destroy' | 'buffers'>, buffers: readonly GPUBuffer[]) {
    this.config = fields.config;
    this.layout = fields.layout;
    this.indices = fields.indices;
    this.centroids = fields.centroids;
    this.centroidFormat = fields.centroidFormat;
    this.residualCentroids = fields.residualCentroids;
    this.residualFormat = fields.residualFormat;
    this.outlierIndices = fields.outlierIndices;
    this.outlierRowWords = fields.outlierRowWords;
    this.outlierCentroids = fields.outlierCentroids;
    this.outlierFormat = fields.outlierFormat;
    this.perm = fields.perm;
    this.inversePerm = fields.inversePerm;
    this.norm = fields.norm;
    this.bias = fields.bias;
    this.byteLength = fields.byteLength;
    this.buffers = buffers;
  }

  /** Frees every buffer of the layer. */
  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
  }
}

/**
 * Validates one packed VPTQ layer (config + tensors as `@vptq/pack-format` reads them) and uploads it.
 *
 * @param config - the layer config (`quantization_config` entry).
 * @param tensors - the stored tensors; codebooks stay at their dtype (F16, BF16 or F32) on the GPU.
 * @throws {RangeError} when the config is invalid, a tensor is missing, unexpected or of the wrong length,
 *   perm is not a permutation, an outlier index is not below Ko, or a tensor exceeds one storage binding.
 * @throws {TypeError} when a tensor has the wrong array type.
 */
export function uploadVqLayer(
  device: GPUDevice,
  config: VptqLayerConfig,
  tensors: VptqLayerTensors,
  options: { readonly label?: string } = {},
): GpuVqLayer {
  const fn = 'uploadVqLayer';
  const layout = getVptqLayerLayout(config);
  const label = options.label ?? 'vq-layer';
  const buffers: GPUBuffer[] = [];
  const maxBinding = device.limits.maxStorageBufferBindingSize;
  const upload = (name: string, data: ArrayBufferView, extraBytes = 0): GPUBuffer => {
    const size = paddedByteLength(data.byteLength + extraBytes);
    if (size > maxBinding) {
      throw new RangeError(`${fn}: ${name} needs ${size} bytes, above the device's maxStorageBufferBindingSize of ${maxBinding}`);
    }
    const buffer = device.createBuffer({ label: `${label}/${name}`, size, usage: bufferUsage.storage | bufferUsage.copyDst, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    buffers.push(buffer);
    return buffer;
  };

  try {
    const { groups, vectorLength, numCentroids, numResidualCentroids, vectorRows, rowWords, inFeatures, outFeatures } = layout;
    const indices = expectWords(fn, 'indices', tensors.indices, groups * vectorRows * rowWords);
    const centroids = expectFloat(fn, 'centroids', tensors.centroids, groups * numCentroids * vectorLength);
    const residual = layout.hasResidual
      ? expectFloat(fn, 'residualCentroids', tensors.residualCentroids, groups * numResidualCentroids * vectorLength)
      : expectAbsent(fn, 'residualCentroids', tensors.residualCentroids);
    const outlierCentroids = layout.hasOutliers
      ? expectFloat(fn, 'outlierCentroids', tensors.outlierCentroids, layout.numOutlierCentroids * layout.outlierVectorLength)
      : expectAbsent(fn, 'outlierCentroids', tensors.outlierCentroids);

    let outlierWords: Uint32Array | undefined;
    let outlierRowWords = 0;
    if (layout.hasOutliers) {
      const outlierIndices = tensors.outlierIndices;
      if (!(outlierIndices instanceof Uint16Array) || outlierIndices.length !== layout.outlierVectorRows * layout.outlierSize) {
        throw new RangeError(
          `${fn}: outlierIndices must be a Uint16Array of [1, Ro, O] = ${layout.outlierVectorRows * layout.outlierSize} values (got ${describeLength(outlierIndices)})`,
        );
      }
      const outlierBits = Math.log2(layout.numOutlierCentroids);
      const bad = outlierIndices.findIndex((index) => index >= layout.numOutlierCentroids);
      if (bad >= 0) {
        throw new RangeError(`${fn}: outlierIndices must be below Ko = ${layout.numOutlierCentroids} (got ${outlierIndices[bad]} at ${bad})`);
      }
      outlierWords = packIndices({
        groups: 1,
        rows: layout.outlierVectorRows,
        columns: layout.outlierSize,
        indexBits: outlierBits,
        residualBits: 0,
        main: outlierIndices,
      });
      outlierRowWords = packedRowWords(layout.outlierSize, outlierBits);
    } else {
      expectAbsent(fn, 'outlierIndices', tensors.outlierIndices);
    }

    let perm: Uint32Array | undefined;
    let inversePerm: Uint32Array | undefined;
    if (config.enablePerm) {
      const stored = tensors.perm;
      if (!(stored instanceof Uint16Array) || stored.length !== inFeatures) {
        throw new RangeError(`${fn}: perm must be a Uint16Array of [in] = ${inFeatures} values (got ${describeLength(stored)})`);
      }
      perm = Uint32Array.from(stored);
      inversePerm = new Uint32Array(inFeatures).fill(inFeatures);
      for (let p = 0; p < inFeatures; p++) {
        if (perm[p] >= inFeatures || inversePerm[perm[p]] !== inFeatures) {
          throw new RangeError(`${fn}: perm must be a permutation of 0..${inFeatures - 1} (got ${perm[p]} at position ${p})`);
        }
        inversePerm[perm[p]] = p;
      }
    } else {
      expectAbsent(fn, 'perm', tensors.perm);
    }

    let norm: Float32Array | undefined;
    if (config.enableNorm) {
      norm = new Float32Array(2 * inFeatures);
      norm.set(floatTensorToF32(expectFloat(fn, 'weightScale', tensors.weightScale, inFeatures)), 0);
      norm.set(floatTensorToF32(expectFloat(fn, 'weightBias', tensors.weightBias, inFeatures)), inFeatures);
    } else {
      expectAbsent(fn, 'weightScale', tensors.weightScale);
      expectAbsent(fn, 'weightBias', tensors.weightBias);
    }
    const bias = config.bias ? floatTensorToF32(expectFloat(fn, 'bias', tensors.bias, outFeatures)) : expectAbsent(fn, 'bias', tensors.bias);

    // Two spare words: the GEMV decoder reads one word past the field it decodes.
    const fields = {
      config,
      layout,
      indices: upload('indices', indices, 8),
      // 16 spare bytes after each codebook: the GEMV reads whole 4-element quads past a short last entry.
      centroids: upload('centroids', centroids.data, 16),
      centroidFormat: formatCode(centroids),
      residualCentroids: residual && upload('residual-centroids', residual.data, 16),
      residualFormat: residual ? formatCode(residual) : formatCode(centroids),
      outlierIndices: outlierWords && upload('outlier-indices', outlierWords, 8),
      outlierRowWords,
      outlierCentroids: outlierCentroids && upload('outlier-centroids', outlierCentroids.data, 16),
      outlierFormat: outlierCentroids ? formatCode(outlierCentroids) : formatCode(centroids),
      perm: perm && upload('perm', perm),
      inversePerm: inversePerm && upload('inverse-perm', inversePerm),
      norm: norm && upload('norm', norm),
      bias: bias && upload('bias', bias),
      byteLength: 0,
    };
    fields.byteLength = buffers.reduce((sum, buffer) => sum + buffer.size, 0);
    return new GpuVqLayer(fields, buffers);
  } catch (error) {
    for (const buffer of buffers) buffer.destroy();
    throw error;
  }
}

function formatCode(tensor: FloatTensor): CodebookFormatCode {
  return tensor.dtype === 'F32' ? 0 : tensor.dtype === 'F16' ? 1 : 2;
}

function expectWords(fn: string, name: string, value: unknown, length: number): Uint32Array {
  if (!(value instanceof Uint32Array)) throw new TypeError(`${fn}: ${name} must be a Uint32Array (got ${describeLength(value)})`);
  if (value.length !== length) throw new RangeError(`${fn}: ${name} must have [G, R, P] = ${length} words (got ${value.length})`);
  return value;
}

function expectFloat(fn: string, name: string, value: FloatTensor | undefined, length: number): FloatTensor {
  if (value === undefined) throw new RangeError(`${fn}: ${name} is required by the layer config`);
  const valid =
    ((value.dtype === 'F16' || value.dtype === 'BF16') && value.data instanceof Uint16Array) ||
    (value.dtype === 'F32' && value.data instanceof Float32Array);
  if (!valid) throw new TypeError(`${fn}: ${name} must be F16/BF16 bits in a Uint16Array or F32 in a Float32Array (got ${String(value.dtype)})`);
  if (value.data.length !== length) throw new RangeError(`${fn}: ${name} must have ${length} values (got ${value.data.length})`);
  return value;
}

function expectAbsent(fn: string, name: string, value: unknown): undefined {
  if (value !== undefined) throw new RangeError(`${fn}: ${name} must be omitted for this layer config`);
  return undefined;
}

function describeLength(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  return String(value);
}
