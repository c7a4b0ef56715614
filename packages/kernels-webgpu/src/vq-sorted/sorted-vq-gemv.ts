import { createUniformBuffer, getPlaceholderBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, checkWorkgroups } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { sortedVqGemvWgsl } from './sorted-vq-gemv.wgsl';
import type { GpuSortedVqLayer } from './upload-sorted-vq-layer';

const label = 'vq-gemv-sorted';

/** Options of {@link createSortedVqGemvDispatch}. */
export interface SortedVqGemvOptions {
  /** Invocations per workgroup, a power of two. Default 256. */
  readonly workgroupSize?: number;
  /** Vector-rows each workgroup takes one after the other (sharing its copy of x). Default 4. */
  readonly rowsPerWorkgroup?: number;
  /** Fields each invocation loads per iteration. Default 4. */
  readonly unroll?: number;
}

/**
 * Records the fused VQ-GEMV of a layer in the sorted layout, `y[t, o] = Σ_c x[t, c] · W[o, c] + bias[o]`
 * (the same function as `createVqGemvDispatch` on the packed layer). Needs the `subgroups` feature, v ≤ 8 and
 * x of one token in workgroup memory (4·in bytes plus 9 bytes per invocation within maxComputeWorkgroupStorageSize).
 *
 * @param buffers.x - `[tokens, xStride]` f32; buffers.y - `[tokens, yStride]` f32.
 * @throws {RangeError} when the device lacks subgroups, v > 8, x does not fit workgroup memory, tokens is not
 *   positive, a stride is too small or the grid exceeds the device limit.
 */
export async function createSortedVqGemvDispatch(
  device: GPUDevice,
  layer: GpuSortedVqLayer,
  buffers: { readonly x: BufferBinding; readonly y: BufferBinding },
  shape: { readonly tokens: number; readonly xStride?: number; readonly yStride?: number },
  options: SortedVqGemvOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createSortedVqGemvDispatch';
  const { inFeatures, outFeatures, vectorLength, vectorRows, groupSize } = layer.layout;
  if (!device.features.has('subgroups')) throw new RangeError(`${fn}: the sorted layout needs the subgroups feature`);
  if (vectorLength > 8) throw new RangeError(`${fn}: the sorted layout handles v ≤ 8 (got ${vectorLength})`);
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const xStride = assertCount(fn, 'shape.xStride', shape.xStride ?? inFeatures, inFeatures);
  const yStride = assertCount(fn, 'shape.yStride', shape.yStride ?? outFeatures, outFeatures);
  const workgroupSize = options.workgroupSize ?? 256;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 32 || workgroupSize > device.limits.maxComputeInvocationsPerWorkgroup || (workgroupSize & (workgroupSize - 1)) !== 0) {
    throw new RangeError(`${fn}: options.workgroupSize must be a power of two from 32 to ${device.limits.maxComputeInvocationsPerWorkgroup} (got ${workgroupSize})`);
  }
  const rowsPerWorkgroup = assertCount(fn, 'options.rowsPerWorkgroup', options.rowsPerWorkgroup ?? 4);
  const unroll = assertCount(fn, 'options.unroll', options.unroll ?? 4, 1, 16);
  const sharedBytes = inFeatures * 4 + (workgroupSize / 2) * 16 + (workgroupSize / 4) * 4;
  if (sharedBytes > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(`${fn}: x of ${inFeatures} floats needs ${sharedBytes} bytes of workgroup memory, above maxComputeWorkgroupStorageSize (${device.limits.maxComputeWorkgroupStorageSize})`);
  }
  const pipeline = await getComputePipeline(device, {
    label,
    code: sortedVqGemvWgsl,
    constants: {
      workgroupSize,
      vectorLength,
      centroidFormat: layer.centroidFormat,
      entryWords: (layer.centroidStride * (layer.centroidFormat === 0 ? 4 : 2)) / 4,
      hasNorm: layer.norm !== undefined,
      hasBias: layer.bias !== undefined,
      rowsPerWorkgroup,
      unroll,
      xWords: inFeatures,
    },
  });
  const params = createUniformBuffer(
    device,
    label,
    packParams([['u32', groupSize], ['u32', vectorRows], ['u32', outFeatures], ['u32', inFeatures], ['u32', xStride], ['u32', yStride]]),
  );
  const placeholder = getPlaceholderBuffer(device);
  return new ComputeStep(
    device,
    label,
    pipeline,
    [layer.fields, layer.centroids, buffers.x, layer.norm ?? placeholder, layer.bias ?? placeholder, buffers.y, params],
    checkWorkgroups(fn, device, Math.ceil(vectorRows / rowsPerWorkgroup), 1, tokens),
    [params],
  );
}
