import { floatTensorToF32, getVptqLayerLayout, packIndices, packedRowWords } from '@vptq/pack-format';
import type { FloatTensor, PackedVptqLayer, VptqLayerConfig, VptqLayerLayout, VptqLayerTensors } from '@vptq/pack-format';

import { bufferUsage } from '../gpu-flags';
import { paddedByteLength } from '../buffers';
import type { BufferBinding } from '../buffers';
import { toLaneIndexLayout } from './lane-index-layout';
import type { VqIndexLayout } from './lane-index-layout';

/** WGSL code of a codebook's storage format: 0 = f32, 1 = f16 bits, 2 = bf16 bits. */
export type CodebookFormatCode = 0 | 1 | 2;

/**
 * One VPTQ layer resident on the GPU, in the packed format itself (never dequantized): the `indices` words
 * as stored, codebooks at their stored precision, and small per-column tensors widened to f32. Outlier
 * indices (stored unpacked as uint16) are repacked at upload into the same LSB-first bitstream layout as
 * `indices` (one row per outlier vector-row, log2 Ko bits per field) so that one decoder serves both parts.
 * Codebook entries are padded to a power-of-two number of 32-bit words (at least 4 past 2), so that a
 * kernel fetches an entry with one aligned 16-byte load (v = 6 f16 entries take 16 bytes instead of 12).
 *
 * Every tensor is a {@link BufferBinding}: a range of a buffer that {@link uploadVqLayers} may share among
 * several layers (each range starts at a multiple of 256 bytes, so it can also be bound on its own).
 * Create with {@link uploadVqLayer} or {@link uploadVqLayers}; free with {@link GpuVqLayer.destroy}.
 */
export class GpuVqLayer {
  readonly config: VptqLayerConfig;
  readonly layout: VptqLayerLayout;
  /**
   * How `indices` is ordered: `rows` as stored (every kernel reads it), or `lanes` (tiles of 32 rows, word by
   * word; the lanes VQ-GEMV and the dequantization read it).
   */
  readonly indexLayout: VqIndexLayout;
  /**
   * `[G, R, P]` u32 words (`rows`) or `[G, ⌈R / 32⌉, P, 32]` (`lanes`) plus 8 zero words, so a decoder may read
   * a whole chunk past the last field.
   */
  readonly indices: GpuVqRange;
  /** `[G, K, centroidStride]` codebook elements (f16/bf16 pairs or f32 words), padded entries. */
  readonly centroids: GpuVqRange;
  readonly centroidFormat: CodebookFormatCode;
  /** Elements between codebook entries: v rounded up to 1, 2, 4 or a multiple of 4 words. */
  readonly centroidStride: number;
  /** `[G, Kr, residualStride]`, when the layer has a residual codebook. */
  readonly residualCentroids: GpuVqRange | undefined;
  readonly residualFormat: CodebookFormatCode;
  readonly residualStride: number;
  /** `[Ro, outlierRowWords]` u32 repacked outlier fields (+8 zero words), when the layer has outliers. */
  readonly outlierIndices: GpuVqRange | undefined;
  /** Words per repacked outlier row: ceil(O · log2 Ko / 32). */
  readonly outlierRowWords: number;
  /** `[Ko, outlierStride]` outlier codebook, when the layer has outliers. */
  readonly outlierCentroids: GpuVqRange | undefined;
  readonly outlierFormat: CodebookFormatCode;
  readonly outlierStride: number;
  /** `[in]` u32 `perm` (original column of quantized position p), when `enablePerm`. */
  readonly perm: GpuVqRange | undefined;
  /** `[in]` u32 `argsort(perm)` (quantized position of original column c), when `enablePerm`. */
  readonly inversePerm: GpuVqRange | undefined;
  /**
   * `[2, in]` f32 when `enableNorm`: weight_scale then weight_bias, both in quantized position order
   * (`scale[perm[p]]`), so that kernels walking positions read them contiguously.
   */
  readonly norm: GpuVqRange | undefined;
  /** `[out]` f32 layer bias, when the layer has one. */
  readonly bias: BufferBinding | undefined;
  /** Bytes of GPU memory held (0 for a layer that shares the buffers of a stack it does not own). */
  readonly byteLength: number;
  private readonly buffers: readonly GPUBuffer[];

  /** Use {@link uploadVqLayer}. */
  constructor(fields: Omit<GpuVqLayer, 'destroy' | 'buffers'>, buffers: readonly GPUBuffer[]) {
    this.config = fields.config;
    this.layout = fields.layout;
    this.indexLayout = fields.indexLayout;
    this.indices = fields.indices;
    this.centroids = fields.centroids;
    this.centroidFormat = fields.centroidFormat;
    this.centroidStride = fields.centroidStride;
    this.residualCentroids = fields.residualCentroids;
    this.residualFormat = fields.residualFormat;
    this.residualStride = fields.residualStride;
    this.outlierIndices = fields.outlierIndices;
    this.outlierRowWords = fields.outlierRowWords;
    this.outlierCentroids = fields.outlierCentroids;
    this.outlierFormat = fields.outlierFormat;
    this.outlierStride = fields.outlierStride;
    this.perm = fields.perm;
    this.inversePerm = fields.inversePerm;
    this.norm = fields.norm;
    this.bias = fields.bias;
    this.byteLength = fields.byteLength;
    this.buffers = buffers;
  }

  /** Frees every buffer the layer owns (none for the later layers of a stack; see {@link uploadVqLayers}). */
  destroy(): void {
    for (const buffer of this.buffers) buffer.destroy();
  }
}

/** A 256-byte-aligned range of a buffer holding one tensor of a {@link GpuVqLayer}. */
export interface GpuVqRange {
  readonly buffer: GPUBuffer;
  /** Byte offset, a multiple of 256. */
  readonly offset: number;
  /** Bytes of the range (padded to 16). */
  readonly size: number;
}

/** Options of {@link uploadVqLayer} and {@link uploadVqLayers}. */
export interface UploadVqLayerOptions {
  /** Label prefix of the buffers. Default `vq-layer`. */
  readonly label?: string;
  /**
   * Order of the index words on the GPU: `rows` (as stored; every kernel; the default) or `lanes` (for the
   * lanes VQ-GEMV, `kernel: 'lanes'`; the streaming and on-chip VQ-GEMV then refuse the layer, the
   * dequantization reads it).
   */
  readonly indexLayout?: VqIndexLayout;
}

/**
 * Validates one packed VPTQ layer and uploads it into buffers of its own.
 *
 * @param layer - the layer's config and stored tensors (`readQuantizedLayer` of a VPTQ model, `packVptqLayer`); codebooks
 *   stay at their dtype (F16, BF16 or F32) on the GPU.
 * @throws {RangeError} when the config is invalid, a tensor is missing, unexpected or of the wrong length,
 *   perm is not a permutation, an outlier index is not below Ko, or a tensor exceeds one storage binding.
 * @throws {TypeError} when a tensor has the wrong array type.
 */
export function uploadVqLayer(device: GPUDevice, layer: PackedVptqLayer, options: UploadVqLayerOptions = {}): GpuVqLayer {
  return uploadVqLayers(device, [layer], options)[0];
}

/**
 * Validates several packed layers and uploads them into shared buffers, one per kind of tensor, each layer's
 * tensor in its own 256-byte-aligned range. Layers that share the input of a decoder step (q/k/v, gate/up)
 * stored this way can run as one fused VQ-GEMV dispatch (see `createVqGemvDispatch`), and each can still be
 * used on its own. The first layer owns the buffers: destroying it frees them all (the others own nothing
 * and report 0 bytes).
 *
 * @throws {RangeError} or {TypeError} as {@link uploadVqLayer}, naming the layer's index.
 */
export function uploadVqLayers(device: GPUDevice, sources: readonly PackedVptqLayer[], options: UploadVqLayerOptions = {}): GpuVqLayer[] {
  const fn = 'uploadVqLayers';
  if (sources.length === 0) throw new RangeError(`${fn}: sources must hold at least one layer`);
  const label = options.label ?? 'vq-layer';
  const indexLayout = options.indexLayout ?? 'rows';
  if (indexLayout !== 'rows' && indexLayout !== 'lanes') throw new RangeError(`${fn}: options.indexLayout must be rows or lanes (got ${String(indexLayout)})`);
  const hosts = sources.map((source, index) => {
    try {
      return prepareVqLayer(source.config, source.tensors, indexLayout);
    } catch (error) {
      if (sources.length === 1 || !(error instanceof Error)) throw error;
      error.message = `layer ${index}: ${error.message}`;
      throw error;
    }
  });
  const buffers: GPUBuffer[] = [];
  const maxBinding = device.limits.maxStorageBufferBindingSize;
  // One buffer per kind of tensor; each layer's part at a 256-byte boundary (the binding offset alignment).
  const upload = (name: keyof HostVqTensors): (GpuVqRange | undefined)[] => {
    const parts = hosts.map((host) => host.tensors[name]);
    const offsets: number[] = [];
    let size = 0;
    for (const part of parts) {
      offsets.push(size);
      if (part) size = Math.ceil((size + paddedByteLength(part.byteLength)) / 256) * 256;
    }
    if (size === 0) return parts.map(() => undefined);
    if (size > maxBinding) {
      throw new RangeError(`uploadVqLayer: ${name} needs ${size} bytes, above the device's maxStorageBufferBindingSize of ${maxBinding}`);
    }
    const buffer = device.createBuffer({ label: `${label}/${name}`, size, usage: bufferUsage.storage | bufferUsage.copyDst | bufferUsage.copySrc, mappedAtCreation: true });
    buffers.push(buffer);
    const bytes = new Uint8Array(buffer.getMappedRange());
    parts.forEach((part, index) => {
      if (part) bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offsets[index]);
    });
    buffer.unmap();
    return parts.map((part, index) => part && { buffer, offset: offsets[index], size: paddedByteLength(part.byteLength) });
  };
  try {
    const ranges = Object.fromEntries(tensorNames.map((name) => [name, upload(name)])) as Record<keyof HostVqTensors, (GpuVqRange | undefined)[]>;
    const total = buffers.reduce((sum, buffer) => sum + buffer.size, 0);
    return hosts.map(
      (host, index) =>
        new GpuVqLayer(
          {
            ...host.meta,
            indices: ranges.indices[index] as GpuVqRange,
            centroids: ranges.centroids[index] as GpuVqRange,
            residualCentroids: ranges.residualCentroids[index],
            outlierIndices: ranges.outlierIndices[index],
            outlierCentroids: ranges.outlierCentroids[index],
            perm: ranges.perm[index],
            inversePerm: ranges.inversePerm[index],
            norm: ranges.norm[index],
            bias: ranges.bias[index],
            byteLength: index === 0 ? total : 0,
          },
          index === 0 ? buffers : [],
        ),
    );
  } catch (error) {
    for (const buffer of buffers) buffer.destroy();
    throw error;
  }
}

/** The host-side arrays of one layer, validated and laid out as on the GPU. */
interface HostVqTensors {
  readonly indices: Uint32Array;
  readonly centroids: ArrayBufferView;
  readonly residualCentroids: ArrayBufferView | undefined;
  readonly outlierIndices: Uint32Array | undefined;
  readonly outlierCentroids: ArrayBufferView | undefined;
  readonly perm: Uint32Array | undefined;
  readonly inversePerm: Uint32Array | undefined;
  readonly norm: Float32Array | undefined;
  readonly bias: Float32Array | undefined;
}

const tensorNames: readonly (keyof HostVqTensors)[] = [
  'indices',
  'centroids',
  'residualCentroids',
  'outlierIndices',
  'outlierCentroids',
  'perm',
  'inversePerm',
  'norm',
  'bias',
];

type HostVqMeta = Pick<
  GpuVqLayer,
  | 'config'
  | 'layout'
  | 'indexLayout'
  | 'centroidFormat'
  | 'centroidStride'
  | 'residualFormat'
  | 'residualStride'
  | 'outlierRowWords'
  | 'outlierFormat'
  | 'outlierStride'
>;

function prepareVqLayer(config: VptqLayerConfig, tensors: VptqLayerTensors, indexLayout: VqIndexLayout): { meta: HostVqMeta; tensors: HostVqTensors } {
  const fn = 'uploadVqLayer';
  const layout = getVptqLayerLayout(config);
  const { groupNum: groups, vectorLength, numCentroids, numResidualCentroids, vectorRows, rowWords, inFeatures, outFeatures } = layout;
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
      groupNum: 1,
      vectorRows: layout.outlierVectorRows,
      groupSize: layout.outlierSize,
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
    const scale = floatTensorToF32(expectFloat(fn, 'weightScale', tensors.weightScale, inFeatures));
    const shift = floatTensorToF32(expectFloat(fn, 'weightBias', tensors.weightBias, inFeatures));
    norm = new Float32Array(2 * inFeatures);
    for (let p = 0; p < inFeatures; p++) {
      const column = perm ? perm[p] : p;
      norm[p] = scale[column];
      norm[inFeatures + p] = shift[column];
    }
  } else {
    expectAbsent(fn, 'weightScale', tensors.weightScale);
    expectAbsent(fn, 'weightBias', tensors.weightBias);
  }
  const bias = config.bias ? floatTensorToF32(expectFloat(fn, 'bias', tensors.bias, outFeatures)) : expectAbsent(fn, 'bias', tensors.bias);

  const main = padCodebook(centroids, vectorLength);
  const residualPadded = residual && padCodebook(residual, vectorLength);
  const outlierPadded = outlierCentroids && padCodebook(outlierCentroids, layout.outlierVectorLength);
  return {
    meta: {
      config,
      layout,
      indexLayout,
      centroidFormat: formatCode(centroids),
      centroidStride: main.stride,
      residualFormat: residual ? formatCode(residual) : formatCode(centroids),
      residualStride: residualPadded?.stride ?? main.stride,
      outlierRowWords,
      outlierFormat: outlierCentroids ? formatCode(outlierCentroids) : formatCode(centroids),
      outlierStride: outlierPadded?.stride ?? main.stride,
    },
    tensors: {
      // Spare words: decoders read one word past a field and the VQ-GEMV whole chunks (≤ 8 words) past a row.
      indices: withSpare(indexLayout === 'lanes' ? toLaneIndexLayout(indices, groups, vectorRows, rowWords) : indices, 8),
      // 16 spare bytes after each codebook: kernels read whole 16-byte blocks past a short last entry.
      centroids: withSpare(main.data, 16 / main.data.BYTES_PER_ELEMENT),
      residualCentroids: residualPadded && withSpare(residualPadded.data, 16 / residualPadded.data.BYTES_PER_ELEMENT),
      outlierIndices: outlierWords && withSpare(outlierWords, 8),
      outlierCentroids: outlierPadded && withSpare(outlierPadded.data, 16 / outlierPadded.data.BYTES_PER_ELEMENT),
      perm,
      inversePerm,
      norm,
      bias,
    },
  };
}

/**
 * The stride, in elements, of a codebook entry of `vectorLength` elements of `format` on the GPU: its words
 * rounded up to 1, 2, 4 or a multiple of 4, so that an entry never straddles a 16-byte block needlessly.
 */
export function codebookEntryStride(vectorLength: number, format: CodebookFormatCode): number {
  const perWord = format === 0 ? 1 : 2;
  const words = Math.ceil(vectorLength / perWord);
  const padded = words <= 2 ? words : Math.ceil(words / 4) * 4;
  return padded * perWord;
}

function padCodebook(tensor: FloatTensor, vectorLength: number): { data: Uint16Array | Float32Array; stride: number } {
  const stride = codebookEntryStride(vectorLength, formatCode(tensor));
  if (stride === vectorLength) return { data: tensor.data, stride };
  const entries = tensor.data.length / vectorLength;
  const data = tensor.data instanceof Float32Array ? new Float32Array(entries * stride) : new Uint16Array(entries * stride);
  for (let entry = 0; entry < entries; entry++) data.set(tensor.data.subarray(entry * vectorLength, (entry + 1) * vectorLength), entry * stride);
  return { data, stride };
}

function withSpare<T extends Uint32Array | Uint16Array | Float32Array>(data: T, spare: number): T {
  const padded = new (data.constructor as new (length: number) => T)(data.length + spare);
  padded.set(data);
  return padded;
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
