import { maxKmeansDim, resolveKmeansAssignOptions } from '../kmeans-assign/kmeans-assign';
import type { KmeansAssignOptions } from '../kmeans-assign/kmeans-assign';
import { kmeansReduceWords } from '../kmeans-reduce/kmeans-reduce';
import { assertCount } from '../validate';

// Donors of empty-cluster repair hold about count / k points each, and there are few of them; a longer list
// costs one more pass over the points.
const initialMemberCapacity = 4096;

/** The device limits {@link planGpuKmeans} respects. */
export interface GpuKmeansLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/** How a k-means problem is laid out on the device. */
export interface GpuKmeansPlan {
  readonly count: number;
  readonly dim: number;
  readonly k: number;
  /** Consecutive point ranges, each with its own points, weights and assignments buffers (one binding each). */
  readonly chunks: readonly { readonly first: number; readonly count: number }[];
  /** u32 words of the per-cluster fixed-point accumulators: k × (dim + 1) pairs. */
  readonly accumulatorWords: number;
  /** Entries the member list of empty-cluster repair starts with (it grows when more are found). */
  readonly initialMemberCapacity: number;
  /** Most entries a member list can hold (16 bytes each, one binding). */
  readonly maxMemberCapacity: number;
}

/**
 * Lays out `count` points of width `dim` and `k` centroids within the device limits: the points are split into
 * chunks that each fit one storage binding (at most `maxChunkPoints` points), and the accumulators must fit one.
 * Pure; `createGpuKmeansEngine` runs it before it allocates anything.
 *
 * @throws {RangeError} naming the parameter or the device limit that is exceeded: dim above 16, k outside
 *   1 … count, more than 2^32 − 1 points, or accumulators above `maxStorageBufferBindingSize`/`maxBufferSize`.
 */
export function planGpuKmeans(
  fn: string,
  limits: GpuKmeansLimits,
  shape: { readonly count: number; readonly dim: number; readonly k: number },
  options: { readonly maxChunkPoints?: number; readonly assign?: KmeansAssignOptions } = {},
): GpuKmeansPlan {
  const count = assertCount(fn, 'points.rows', shape.count, 1, 0xffffffff);
  const dim = assertCount(fn, 'points.cols', shape.dim, 1, maxKmeansDim);
  if (!Number.isInteger(shape.k) || shape.k < 1 || shape.k > count) {
    throw new RangeError(`${fn}: k must be between 1 and the number of points (got k = ${shape.k}, points = ${count})`);
  }
  const k = shape.k;
  resolveKmeansAssignOptions(fn, dim, options.assign ?? {});
  const bindable = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const accumulatorWords = kmeansReduceWords(k, dim, false);
  if (accumulatorWords * 4 > bindable) {
    throw new RangeError(
      `${fn}: the per-cluster sums of k = ${k} centroids of dim ${dim} take ${accumulatorWords * 4} bytes, above the device's maxStorageBufferBindingSize/maxBufferSize of ${bindable}`,
    );
  }
  const fitting = Math.floor(bindable / (dim * 4));
  const chunkPoints = Math.min(fitting, assertCount(fn, 'options.maxChunkPoints', options.maxChunkPoints ?? fitting));
  const chunks: { first: number; count: number }[] = [];
  for (let first = 0; first < count; first += chunkPoints) chunks.push({ first, count: Math.min(chunkPoints, count - first) });
  const maxMemberCapacity = Math.min(count, Math.floor(bindable / 16));
  return { count, dim, k, chunks, accumulatorWords, initialMemberCapacity: Math.min(maxMemberCapacity, initialMemberCapacity), maxMemberCapacity };
}
