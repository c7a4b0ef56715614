import type { VptqLayerConfig, VptqLayerTensors } from '@vptq/pack-format';

import { createStorageBuffer, createUniformBuffer, getPlaceholderBuffer, packParams, readBuffer } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, captureGpuErrors, flatGrid, submitDispatches } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { weightRowStride } from '../gpu-weights';
import type { WeightFormat } from '../gpu-weights';
import { getComputePipeline } from '../pipeline-cache';
import { uploadVqLayer } from '../vq-layer/upload-vq-layer';
import type { VqIndexLayout } from '../vq-layer/lane-index-layout';
import type { GpuVqLayer } from '../vq-layer/upload-vq-layer';
import { vqDequantWgsl } from './vq-dequant.wgsl';

const label = 'vq-dequant';
const workgroupSize = 256;

/**
 * Bytes of the dense matrix that {@link createVqDequantDispatch} writes: `[outFeatures, rowStride]` with
 * rowStride = inFeatures rounded up to 4 (f32) or 8 (f16) elements, the layout `describeWeights` expects.
 */
export function vqDequantByteLength(layer: GpuVqLayer, format: WeightFormat): number {
  return layer.layout.outFeatures * weightRowStride(layer.layout.inFeatures, format) * (format === 'f32' ? 4 : 2);
}

/**
 * Records the dequantization of `layer` into `output` as a dense `[outFeatures, rowStride]` matrix in f32 or
 * f16 (padding columns are 0), ready for `describeWeights` + GEMM.
 *
 * @throws {RangeError} when the output would exceed one binding or the grid exceeds the device limit.
 */
export async function createVqDequantDispatch(
  device: GPUDevice,
  layer: GpuVqLayer,
  output: BufferBinding,
  options: { readonly format?: WeightFormat } = {},
): Promise<KernelDispatch> {
  const fn = 'createVqDequantDispatch';
  const format = options.format ?? 'f32';
  if (format !== 'f32' && format !== 'f16') throw new RangeError(`${fn}: options.format must be 'f32' or 'f16' (got ${String(format)})`);
  const { layout } = layer;
  const byteLength = vqDequantByteLength(layer, format);
  if (byteLength > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(
      `${fn}: the dense [${layout.outFeatures}, ${layout.inFeatures}] ${format} weight needs ${byteLength} bytes, above maxStorageBufferBindingSize (${device.limits.maxStorageBufferBindingSize})`,
    );
  }
  const rowStride = weightRowStride(layout.inFeatures, format);
  const pipeline = await getComputePipeline(device, {
    label,
    code: vqDequantWgsl,
    constants: {
      workgroupSize,
      vectorLength: layout.vectorLength,
      indexBits: layout.indexBits,
      residualBits: layout.residualBits,
      centroidFormat: layer.centroidFormat,
      residualFormat: layer.residualFormat,
      outlierVectorLength: Math.max(layout.outlierVectorLength, 1),
      outlierBits: layout.hasOutliers ? Math.log2(layout.numOutlierCentroids) : 1,
      outlierFormat: layer.outlierFormat,
      centroidStride: layer.centroidStride,
      residualStride: layer.residualStride,
      outlierStride: layer.outlierStride,
      hasOutliers: layout.hasOutliers,
      hasPerm: layer.inversePerm !== undefined,
      hasNorm: layer.norm !== undefined,
      f16Output: format === 'f16',
      laneLayout: layer.indexLayout === 'lanes',
    },
  });
  const params = createUniformBuffer(
    device,
    label,
    packParams([
      ['u32', layout.outFeatures],
      ['u32', layout.inFeatures],
      ['u32', rowStride],
      ['u32', layout.vectorRows],
      ['u32', layout.rowWords],
      ['u32', layout.groupSize],
      ['u32', layout.outlierSize],
      ['u32', layer.outlierRowWords],
      ['u32', layout.numCentroids * layer.centroidStride],
      ['u32', Math.max(layout.numResidualCentroids, 0) * layer.residualStride],
    ]),
  );
  const placeholder = getPlaceholderBuffer(device);
  const grid = flatGrid(fn, device, Math.ceil((layout.outFeatures * rowStride) / 2 / workgroupSize));
  return new ComputeStep(
    device,
    label,
    pipeline,
    [
      layer.indices,
      layer.centroids,
      layer.residualCentroids ?? placeholder,
      layer.outlierIndices ?? placeholder,
      layer.outlierCentroids ?? placeholder,
      layer.inversePerm ?? placeholder,
      layer.norm ?? placeholder,
      output,
      params,
    ],
    grid,
    [params],
  );
}

/**
 * Dequantizes a packed VPTQ layer on the GPU (one-shot: uploads, runs, reads back, frees).
 *
 * @param config - the layer config.
 * @param tensors - the stored tensors.
 * @param options - `format`: `'f32'` (default) returns a Float32Array, `'f16'` a Uint16Array of f16 bits.
 * @returns `[outFeatures, inFeatures]` row-major (the padding columns removed).
 * @throws {RangeError} or {TypeError} as {@link uploadVqLayer} for a malformed layer.
 */
export async function vqDequantize(
  device: GPUDevice,
  config: VptqLayerConfig,
  tensors: VptqLayerTensors,
  options: { readonly format?: WeightFormat; readonly indexLayout?: VqIndexLayout } = {},
): Promise<Float32Array | Uint16Array> {
  const format = options.format ?? 'f32';
  const layer = uploadVqLayer(device, { config, tensors }, { label, indexLayout: options.indexLayout });
  const { outFeatures, inFeatures } = layer.layout;
  const output = createStorageBuffer(device, `${label}/output`, vqDequantByteLength(layer, format));
  let dispatch: KernelDispatch | undefined;
  try {
    const bytes = await captureGpuErrors(device, label, async () => {
      dispatch = await createVqDequantDispatch(device, layer, output, { format });
      submitDispatches(device, label, [dispatch]);
      return readBuffer(device, output, vqDequantByteLength(layer, format));
    });
    const rowStride = weightRowStride(inFeatures, format);
    const padded = format === 'f32' ? new Float32Array(bytes) : new Uint16Array(bytes);
    if (rowStride === inFeatures) return padded;
    const dense = format === 'f32' ? new Float32Array(outFeatures * inFeatures) : new Uint16Array(outFeatures * inFeatures);
    for (let row = 0; row < outFeatures; row++) dense.set(padded.subarray(row * rowStride, row * rowStride + inFeatures), row * inFeatures);
    return dense;
  } finally {
    dispatch?.destroy();
    output.destroy();
    layer.destroy();
  }
}
