import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { kmeansUpdateWgsl } from './kmeans-update.wgsl';

const label = 'kmeans-update';
const workgroupSize = 256;

/** Buffers of {@link createKmeansUpdateDispatch}. */
export interface KmeansUpdateBuffers {
  /** `[k, dim + 1]` fixed-point pairs of the reduction (`createKmeansReduceDispatch` in step mode). */
  readonly accumulators: BufferBinding;
  /** `[k, dim]` f32, updated in place (empty clusters keep theirs). */
  readonly centroids: BufferBinding;
  /** `[4]` u32; word 3 receives the number of empty clusters. */
  readonly stats: BufferBinding;
}

/**
 * Records the device M-step (see `kmeansUpdateWgsl`): each non-empty cluster's centroid becomes Σwx / Σw of the
 * accumulators, empty clusters are counted.
 */
export async function createKmeansUpdateDispatch(device: GPUDevice, buffers: KmeansUpdateBuffers, shape: { readonly k: number; readonly dim: number }): Promise<KernelDispatch> {
  const pipeline = await getComputePipeline(device, { label, code: kmeansUpdateWgsl, constants: { workgroupSize, dim: shape.dim } });
  const params = createUniformBuffer(device, label, packParams([['u32', shape.k]]));
  const grid = flatGrid('createKmeansUpdateDispatch', device, Math.ceil(shape.k / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.accumulators, buffers.centroids, buffers.stats, params], grid, [params]);
}
