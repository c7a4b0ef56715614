import { createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, flatGrid } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { maxKmeansDim } from '../kmeans-assign/kmeans-assign';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { kmeansReduceWgsl } from './kmeans-reduce.wgsl';

const label = 'kmeans-reduce';
const workgroupSize = 256;
// Workgroup memory kept free beside the private accumulators (the objective words and the driver's own use).
const reservedWorkgroupBytes = 64;

/** Buffers of {@link createKmeansReduceDispatch}. */
export interface KmeansReduceBuffers {
  /** `[count, dim]` f32. */
  readonly points: BufferBinding;
  /** `[count]` f32, ≥ 0. */
  readonly weights: BufferBinding;
  /** `[count]` u32, each below k. */
  readonly assignments: BufferBinding;
  /** `[k, dim]` f32: the centroids the costs (objective) are measured against. */
  readonly centroids: BufferBinding;
  /** `[k, channels]` pairs of u32 (low, high), zeroed before the first dispatch: see {@link kmeansReduceWords}. */
  readonly accumulators: BufferBinding;
  /** `[4]` u32: words 0 and 1 receive the objective in step mode. */
  readonly stats: BufferBinding;
}

/** Shape and scales of {@link createKmeansReduceDispatch}. */
export interface KmeansReduceShape {
  readonly count: number;
  readonly k: number;
  readonly dim: number;
  /**
   * `false` (step): Σ w·x and Σ w per cluster and the objective Σ w·‖x − c‖²; `true` (costs): Σ w·‖x − c‖² per
   * cluster only.
   */
  readonly costMode: boolean;
  /** Fixed-point units per unit of w·x and w: a power of two that keeps every cluster's sums below 2^62 units. */
  readonly sumScale: number;
  /** Fixed-point units per unit of w·‖x − c‖²: a power of two that keeps the total below 2^62 units. */
  readonly costScale: number;
}

/** A recorded {@link createKmeansReduceDispatch}; the scales can change between submits. */
export interface KmeansReduceDispatch extends KernelDispatch {
  /** Rewrites the scales (takes effect at the next submit). */
  setScales(sumScale: number, costScale: number): void;
}

/** Number of u32 words of the accumulators: k × channels pairs, channels = dim + 1 (step) or 1 (costs). */
export function kmeansReduceWords(k: number, dim: number, costMode: boolean): number {
  return 2 * k * (costMode ? 1 : dim + 1);
}

/**
 * Records the deterministic per-cluster reduction of k-means (see the shader): sums in 64-bit fixed point
 * with integer atomics, so the result is the same bits for any order, chunking or workgroup count. Small k
 * accumulate in workgroup memory first when the device's `maxComputeWorkgroupStorageSize` allows it
 * (`options.privateAccumulation`, default: when it fits; the bits are the same either way).
 *
 * @throws {RangeError} when a size is invalid, a scale is not a power of two an f32 can hold, or the grid
 *   exceeds the device limit.
 */
export async function createKmeansReduceDispatch(
  device: GPUDevice,
  buffers: KmeansReduceBuffers,
  shape: KmeansReduceShape,
  options: { readonly privateAccumulation?: boolean } = {},
): Promise<KmeansReduceDispatch> {
  const fn = 'createKmeansReduceDispatch';
  const count = assertCount(fn, 'shape.count', shape.count);
  const k = assertCount(fn, 'shape.k', shape.k);
  const dim = assertCount(fn, 'shape.dim', shape.dim, 1, maxKmeansDim);
  checkScale(fn, 'shape.sumScale', shape.sumScale);
  checkScale(fn, 'shape.costScale', shape.costScale);
  const words = kmeansReduceWords(k, dim, shape.costMode);
  const fits = words * 4 + reservedWorkgroupBytes <= device.limits.maxComputeWorkgroupStorageSize;
  const privateAccumulation = options.privateAccumulation ?? fits;
  if (privateAccumulation && !fits) {
    throw new RangeError(
      `${fn}: private accumulation of ${words} words needs ${words * 4 + reservedWorkgroupBytes} bytes of workgroup memory, above the device's maxComputeWorkgroupStorageSize of ${device.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  // With private sums every workgroup adds its non-zero pairs to global memory once: give it about as many
  // points per invocation as words per invocation, so that this flush stays a small share of its work.
  const pointsPerInvocation = privateAccumulation ? Math.max(1, Math.ceil(words / workgroupSize)) : 1;
  const grid = flatGrid(fn, device, Math.ceil(count / (workgroupSize * pointsPerInvocation)));
  const pipeline = await getComputePipeline(device, {
    label,
    code: kmeansReduceWgsl,
    constants: { workgroupSize, dim, costMode: shape.costMode, privateWords: privateAccumulation ? words : 0 },
  });
  const pack = (sumScale: number, costScale: number) =>
    packParams([['u32', count], ['u32', pointsPerInvocation], ['f32', sumScale], ['f32', costScale]]);
  const params = createUniformBuffer(device, label, pack(shape.sumScale, shape.costScale));
  const step = new ComputeStep(
    device,
    label,
    pipeline,
    [buffers.points, buffers.weights, buffers.assignments, buffers.centroids, buffers.accumulators, buffers.stats, params],
    grid,
    [params],
  );
  return {
    label,
    encode: (pass) => step.encode(pass),
    destroy: () => step.destroy(),
    setScales(sumScale, costScale) {
      checkScale(fn, 'sumScale', sumScale);
      checkScale(fn, 'costScale', costScale);
      device.queue.writeBuffer(params, 0, pack(sumScale, costScale));
    },
  };
}

function checkScale(fn: string, name: string, scale: number): void {
  const exponent = Math.log2(scale);
  if (!Number.isInteger(exponent) || exponent < -126 || exponent > 127) {
    throw new RangeError(`${fn}: ${name} must be a power of two between 2^-126 and 2^127 (got ${scale})`);
  }
}
