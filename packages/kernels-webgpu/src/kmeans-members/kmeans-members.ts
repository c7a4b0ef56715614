import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { maxKmeansDim } from '../kmeans-assign/kmeans-assign';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { kmeansMembersWgsl } from './kmeans-members.wgsl';

const label = 'kmeans-members';
const workgroupSize = 256;

/** Buffers of {@link createKmeansMembersDispatch}. */
export interface KmeansMembersBuffers {
  /** `[count, dim]` f32. */
  readonly points: BufferBinding;
  /** `[count]` f32. */
  readonly weights: BufferBinding;
  /** `[count]` u32, each below k. */
  readonly assignments: BufferBinding;
  /** `[k, dim]` f32: the costs are measured against these. */
  readonly centroids: BufferBinding;
  /** `[k]` u32: the slot of each requested cluster, 0xffffffff for the others. */
  readonly slots: BufferBinding;
  /** `[4]` u32, zeroed before the first dispatch; word 0 counts the entries found (also those beyond capacity). */
  readonly counter: BufferBinding;
  /** `[capacity, 4]` u32 entries (global point index, slot, f32 bits of w·‖x − c‖², 0), in no particular order. */
  readonly entries: BufferBinding;
}

/**
 * Records the listing of the members of the requested clusters (see the shader), for k-means' empty-cluster
 * repair. Several dispatches (one per chunk of points) may append to the same entries.
 *
 * @param shape - `count` points of this chunk, `first`: global index of its first point, `capacity` entries.
 * @throws {RangeError} when a size is invalid or the grid exceeds the device limit.
 */
export async function createKmeansMembersDispatch(
  device: GPUDevice,
  buffers: KmeansMembersBuffers,
  shape: { readonly count: number; readonly first: number; readonly capacity: number; readonly dim: number },
): Promise<KernelDispatch> {
  const fn = 'createKmeansMembersDispatch';
  const count = assertCount(fn, 'shape.count', shape.count);
  const first = assertCount(fn, 'shape.first', shape.first, 0, 0xffffffff - count);
  const capacity = assertCount(fn, 'shape.capacity', shape.capacity);
  const dim = assertCount(fn, 'shape.dim', shape.dim, 1, maxKmeansDim);
  const grid = flatGrid(fn, device, Math.ceil(count / workgroupSize));
  const pipeline = await getComputePipeline(device, { label, code: kmeansMembersWgsl, constants: { workgroupSize, dim } });
  const params = createUniformBuffer(device, label, packParams([['u32', count], ['u32', first], ['u32', capacity]]));
  const { points, weights, assignments, centroids, slots, counter, entries } = buffers;
  return new ComputeStep(device, label, pipeline, [points, weights, assignments, centroids, slots, counter, entries, params], grid, [params]);
}
