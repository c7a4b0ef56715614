import type { Matrix } from '@vptq/kmeans';

import { createStorageBuffer, createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { Destroyable, KernelDispatch } from '../dispatch';
import { getComputePipeline } from '../pipeline-cache';
import { runKernel } from '../run-kernel';
import { assertCount } from '../validate';
import { checkMatrices } from './check-matrices';
import { kmeansAssignWgsl } from './kmeans-assign.wgsl';

const label = 'kmeans-assign';

/** The widest points the assignment handles: each invocation keeps its points' coordinates in 4 vec4. */
export const maxKmeansDim = 16;

/** Buffers of {@link createKmeansAssignDispatch}. */
export interface KmeansAssignBuffers {
  /** `[count, dim]` f32. */
  readonly points: BufferBinding;
  /** `[k, dim]` f32. */
  readonly centroids: BufferBinding;
  /** `[count]` u32: the previous assignment (any values at first), overwritten with the new one. */
  readonly assignments: BufferBinding;
  /**
   * `[4]` u32; word 2 is increased by the number of points whose assignment changed (integer atomics, so the
   * count is exact and deterministic). Default: a scratch buffer owned by the dispatch.
   */
  readonly stats?: BufferBinding;
}

/** Tuning options of {@link createKmeansAssignDispatch}. */
export interface KmeansAssignOptions {
  /** Invocations per workgroup, which is also the number of centroids staged per tile: 32, 64, 128 or 256. Default 128. */
  readonly workgroupSize?: number;
  /** Points each invocation keeps in registers, 1–4. Default 4 for dim ≤ 8, else 2. */
  readonly pointsPerInvocation?: number;
  /**
   * `'expanded'` scores a pair as ½‖c‖² − x·c (dim multiply-adds; rounding error relative to ‖c‖²), `'direct'`
   * as Σ(x − c)² (twice the arithmetic; rounding error relative to the distance). Default `'expanded'`.
   */
  readonly distance?: 'expanded' | 'direct';
}

/** Points one workgroup of {@link createKmeansAssignDispatch} assigns with `options`, and the resolved options. */
export function resolveKmeansAssignOptions(
  fn: string,
  dim: number,
  options: KmeansAssignOptions,
): { readonly workgroupSize: number; readonly pointsPerInvocation: number; readonly expandedDistance: boolean; readonly pointsPerWorkgroup: number } {
  const workgroupSize = options.workgroupSize ?? 128;
  if (![32, 64, 128, 256].includes(workgroupSize)) {
    throw new RangeError(`${fn}: options.workgroupSize must be 32, 64, 128 or 256 (got ${workgroupSize})`);
  }
  const pointsPerInvocation = assertCount(fn, 'options.pointsPerInvocation', options.pointsPerInvocation ?? (dim <= 8 ? 4 : 2), 1, 4);
  const distance = options.distance ?? 'expanded';
  if (distance !== 'expanded' && distance !== 'direct') {
    throw new RangeError(`${fn}: options.distance must be 'expanded' or 'direct' (got ${String(distance)})`);
  }
  return { workgroupSize, pointsPerInvocation, expandedDistance: distance === 'expanded', pointsPerWorkgroup: workgroupSize * pointsPerInvocation };
}

/**
 * Records nearest-centroid assignment of `count` points of width `dim` ≤ 16 to `k` centroids (ties to the
 * lower index), counting the changed assignments into `stats[2]`; the assignment step of the GPU k-means
 * engine. Sums run in f32 (see {@link KmeansAssignOptions.distance}).
 *
 * @throws {RangeError} when a size or option is invalid, dim exceeds 16 or the grid exceeds the device limit.
 */
export async function createKmeansAssignDispatch(
  device: GPUDevice,
  buffers: KmeansAssignBuffers,
  shape: { readonly count: number; readonly k: number; readonly dim: number },
  options: KmeansAssignOptions = {},
): Promise<KernelDispatch> {
  const fn = 'createKmeansAssignDispatch';
  const count = assertCount(fn, 'shape.count', shape.count);
  const k = assertCount(fn, 'shape.k', shape.k);
  const dim = assertCount(fn, 'shape.dim', shape.dim, 1, maxKmeansDim);
  const { workgroupSize, pointsPerInvocation, expandedDistance, pointsPerWorkgroup } = resolveKmeansAssignOptions(fn, dim, options);
  const storage = workgroupSize * (Math.ceil(dim / 4) * 16 + 4) + 4;
  if (storage > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `${fn}: a tile of ${workgroupSize} centroids of dim ${dim} needs ${storage} bytes of workgroup memory, above the device's maxComputeWorkgroupStorageSize of ${device.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  const grid = flatGrid(fn, device, Math.ceil(count / pointsPerWorkgroup));
  const pipeline = await getComputePipeline(device, {
    label,
    code: kmeansAssignWgsl,
    constants: { workgroupSize, pointsPerInvocation, dim, expandedDistance },
  });
  const owned: Destroyable[] = [];
  const params = createUniformBuffer(device, label, packParams([['u32', count], ['u32', k]]));
  owned.push(params);
  let stats = buffers.stats;
  if (stats === undefined) {
    const scratch = createStorageBuffer(device, `${label}/stats`, 16);
    owned.push(scratch);
    stats = scratch;
  }
  return new ComputeStep(device, label, pipeline, [buffers.points, buffers.centroids, buffers.assignments, stats, params], grid, owned);
}

/**
 * GPU twin of `assignNearest` from @vptq/kmeans (one-shot). Sums run in f32, so genuine near-ties may
 * resolve differently from an f64 CPU version.
 *
 * @param points - `[count, dim]` f32, dim ≤ 16.
 * @param centroids - `[k, dim]` f32.
 * @returns `[count]` u32 centroid indices.
 * @throws {RangeError} when the widths differ, there are no centroids or dim exceeds 16.
 */
export async function kmeansAssign(device: GPUDevice, points: Matrix, centroids: Matrix, options: KmeansAssignOptions = {}): Promise<Uint32Array> {
  checkMatrices('kmeansAssign', points, centroids);
  if (points.rows === 0) return new Uint32Array(0);
  const [assignments] = await runKernel(device, label, [points.data, centroids.data], [points.rows * 4], ([p, c], [a]) =>
    createKmeansAssignDispatch(device, { points: p, centroids: c, assignments: a }, { count: points.rows, k: centroids.rows, dim: points.cols }, options),
  );
  return new Uint32Array(assignments);
}
