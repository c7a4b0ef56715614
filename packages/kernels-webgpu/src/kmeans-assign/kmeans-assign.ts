import type { Matrix } from '@vptq/kmeans';

import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { checkMatrices } from './check-matrices';
import { kmeansAssignWgsl } from './kmeans-assign.wgsl';

const label = 'kmeans-assign';
const workgroupSize = 64;

/** The widest points {@link createKmeansAssignDispatch} accepts (coordinates live in registers). */
export const maxKmeansDim = 64;

/** Buffers of {@link createKmeansAssignDispatch}. */
export interface KmeansAssignBuffers {
  /** `[count, dim]` f32. */
  readonly points: BufferBinding;
  /** `[k, dim]` f32. */
  readonly centroids: BufferBinding;
  /** `[count]` u32. */
  readonly assignments: BufferBinding;
}

/**
 * Records nearest-centroid assignment of `count` points of width `dim` to `k` centroids; the step that
 * `@vptq/kmeans` can run on the GPU.
 *
 * @throws {RangeError} when a size is invalid, dim exceeds 64 or the grid exceeds the device limit.
 */
export async function createKmeansAssignDispatch(
  device: GPUDevice,
  buffers: KmeansAssignBuffers,
  shape: { readonly count: number; readonly k: number; readonly dim: number },
): Promise<KernelDispatch> {
  const fn = 'createKmeansAssignDispatch';
  const count = assertCount(fn, 'shape.count', shape.count);
  const k = assertCount(fn, 'shape.k', shape.k);
  const dim = assertCount(fn, 'shape.dim', shape.dim, 1, maxKmeansDim);
  // Stage as many centroids as fit in 16 KiB, WebGPU's default workgroup storage.
  const tileCentroids = Math.max(1, Math.min(k, Math.floor(4096 / dim)));
  const pipeline = await getComputePipeline(device, { label, code: kmeansAssignWgsl, constants: { workgroupSize, dim, tileCentroids } });
  const params = createUniformBuffer(device, label, packParams([['u32', count], ['u32', k]]));
  const grid = flatGrid(fn, device, Math.ceil(count / workgroupSize));
  return new ComputeStep(device, label, pipeline, [buffers.points, buffers.centroids, buffers.assignments, params], grid, [params]);
}

/**
 * GPU twin of `assignNearest` from @vptq/kmeans (one-shot). Sums run in f32, so genuine near-ties may
 * resolve differently from an f64 CPU version.
 *
 * @param points - `[count, dim]`.
 * @param centroids - `[k, dim]`.
 * @returns `[count]` u32 centroid indices.
 * @throws {RangeError} when the widths differ, there are no centroids or dim exceeds 64.
 */
export async function kmeansAssign(device: GPUDevice, points: Matrix, centroids: Matrix): Promise<Uint32Array> {
  checkMatrices('kmeansAssign', points, centroids);
  if (points.rows === 0) return new Uint32Array(0);
  const [assignments] = await runKernel(device, label, [points.data, centroids.data], [points.rows * 4], ([p, c], [a]) =>
    createKmeansAssignDispatch(device, { points: p, centroids: c, assignments: a }, { count: points.rows, k: centroids.rows, dim: points.cols }),
  );
  return new Uint32Array(assignments);
}
