import { floatTensorToF32, getVptqLayerLayout, readField } from '@vptq/pack-format';
import type { VptqLayerConfig, VptqLayerLayout, VptqLayerTensors } from '@vptq/pack-format';

import { createBufferWithData } from '../buffers';
import { bufferUsage } from '../gpu-flags';
import { codebookEntryStride, uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { CodebookFormatCode } from '../vq-layer/upload-vq-layer';

/**
 * A VPTQ layer re-laid for locality of codebook gathers: each vector-row's fields sorted by codebook index,
 * one u32 per field holding `index | column << 16` (the original input column, perm folded in). The lanes
 * of a subgroup then read neighbouring codebook entries (few cache lines per load) where the packed layout
 * sends every lane to its own line; x is gathered by column from workgroup memory. It holds 32 bits per
 * field instead of log2 K, so it trades memory for speed. Supports layers without residual codebook,
 * outliers or groups, with in ≤ 65536 and K ≤ 65536. Create with {@link uploadSortedVqLayer}.
 */
export interface GpuSortedVqLayer {
  readonly config: VptqLayerConfig;
  readonly layout: VptqLayerLayout;
  /** `[R, S]` u32 `index | column << 16`, each row sorted. */
  readonly fields: GPUBuffer;
  /** Codebook, entries padded as in `uploadVqLayer`. */
  readonly centroids: GPUBuffer;
  readonly centroidFormat: CodebookFormatCode;
  readonly centroidStride: number;
  /** `[2, in]` f32 weight_scale then weight_bias by original column, when `enableNorm`. */
  readonly norm: GPUBuffer | undefined;
  readonly bias: GPUBuffer | undefined;
  readonly byteLength: number;
  destroy(): void;
}

/**
 * Validates a packed layer (as `uploadVqLayer` does), sorts each vector-row's fields by codebook index on the
 * CPU and uploads the sorted layout (the codebook as `uploadVqLayer` pads it).
 *
 * @throws {RangeError} when the layer has a residual codebook, outliers or several groups, in > 65536 or
 *   K > 65536, or as `uploadVqLayer` for a malformed layer.
 */
export function uploadSortedVqLayer(device: GPUDevice, config: VptqLayerConfig, tensors: VptqLayerTensors, options: { readonly label?: string } = {}): GpuSortedVqLayer {
  const fn = 'uploadSortedVqLayer';
  const layout = getVptqLayerLayout(config);
  if (layout.hasResidual || layout.hasOutliers || layout.groups !== 1) {
    throw new RangeError(`${fn}: the sorted layout supports layers without residual codebook, outliers or groups (got Kr ${layout.numResidualCentroids}, O ${layout.outlierSize}, G ${layout.groups})`);
  }
  if (layout.inFeatures > 65536 || layout.numCentroids > 65536) {
    throw new RangeError(`${fn}: the sorted layout needs in ≤ 65536 and K ≤ 65536 (got ${layout.inFeatures} and ${layout.numCentroids})`);
  }
  const label = options.label ?? 'vq-sorted-layer';
  // The packed upload validates every tensor (and gives the padded codebook); its other buffers are dropped.
  const packed = uploadVqLayer(device, config, tensors, { label });
  const buffers: GPUBuffer[] = [];
  try {
    const { vectorRows, groupSize, rowWords, indexBits, inFeatures } = layout;
    const perm = config.enablePerm ? (tensors.perm as Uint16Array) : undefined;
    const fields = new Uint32Array(vectorRows * groupSize);
    for (let row = 0; row < vectorRows; row++) {
      const sorted = fields.subarray(row * groupSize, (row + 1) * groupSize);
      for (let s = 0; s < groupSize; s++) {
        const index = readField(tensors.indices, row * rowWords, s, indexBits);
        sorted[s] = (index | ((perm ? perm[s] : s) << 16)) >>> 0;
      }
      // Ascending index, then column: the 16 low bits dominate, so sort by (index, column) explicitly.
      sorted.sort((a, b) => (a & 0xffff) - (b & 0xffff) || (a >>> 16) - (b >>> 16));
    }
    const fieldBuffer = createBufferWithData(device, `${label}/fields`, fields);
    buffers.push(fieldBuffer);
    let norm: GPUBuffer | undefined;
    if (config.enableNorm) {
      const byColumn = new Float32Array(2 * inFeatures);
      byColumn.set(floatTensorToF32(tensors.weightScale as NonNullable<VptqLayerTensors['weightScale']>), 0);
      byColumn.set(floatTensorToF32(tensors.weightBias as NonNullable<VptqLayerTensors['weightBias']>), inFeatures);
      norm = createBufferWithData(device, `${label}/norm`, byColumn);
      buffers.push(norm);
    }
    const bias = config.bias ? createBufferWithData(device, `${label}/bias`, floatTensorToF32(tensors.bias as NonNullable<VptqLayerTensors['bias']>)) : undefined;
    if (bias) buffers.push(bias);
    // Keep only the codebook of the packed upload: copied on the queue, then the packed buffers are freed
    // (destroy waits for submitted work).
    const { buffer: source, offset, size } = packed.centroids;
    const centroids = device.createBuffer({ label: `${label}/centroids`, size, usage: bufferUsage.storage | bufferUsage.copyDst });
    buffers.push(centroids);
    const encoder = device.createCommandEncoder({ label });
    encoder.copyBufferToBuffer(source, offset, centroids, 0, size);
    device.queue.submit([encoder.finish()]);
    packed.destroy();
    return {
      config,
      layout,
      fields: fieldBuffer,
      centroids,
      centroidFormat: packed.centroidFormat,
      centroidStride: codebookEntryStride(layout.vectorLength, packed.centroidFormat),
      norm,
      bias,
      byteLength: buffers.reduce((sum, buffer) => sum + buffer.size, 0),
      destroy() {
        for (const buffer of buffers) buffer.destroy();
      },
    };
  } catch (error) {
    packed.destroy();
    for (const buffer of buffers) buffer.destroy();
    throw error;
  }
}
