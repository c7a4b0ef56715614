import type { Matrix } from '@vptq/kmeans';

import { createBufferFilled } from '../buffers';
import { exponentAbove } from '../kmeans-reduce/fixed-point';
import type { GpuKmeansPlan } from './plan-gpu-kmeans';

/** One chunk of the points on the device. */
export interface KmeansPointChunk {
  /** Global index of the chunk's first point. */
  readonly first: number;
  readonly count: number;
  /** `[count, dim]` f32, scaled by 2^-pointExponent. */
  readonly points: GPUBuffer;
  /** `[count]` f32, scaled by 2^-weightExponent. */
  readonly weights: GPUBuffer;
  /** `[count]` u32, 0xffffffff until the first assignment (so that every point counts as changed then). */
  readonly assignments: GPUBuffer;
}

/** The points and weights of a k-means run on the device, normalized. */
export interface UploadedKmeansPoints {
  readonly chunks: readonly KmeansPointChunk[];
  /** Weights were divided by 2^weightExponent ≥ Σ w, so they sum to at most 1. */
  readonly weightExponent: number;
  /** Points were divided by 2^pointExponent ≥ max |x|, so every coordinate lies in [−1, 1]. */
  readonly pointExponent: number;
  destroy(): void;
}

/**
 * Uploads points and weights chunk by chunk, scaled by powers of two: coordinates into [−1, 1] and weights to
 * a sum of at most 1. Power-of-two scaling is exact in f32 (short of underflow below 2^-126 of the largest
 * value), changes no nearest centroid, and gives the fixed-point sums known bounds (|Σ w·x| ≤ 1 per cluster) and
 * the f32 distances room (no overflow for data of any magnitude). Weights are rounded once to f32.
 *
 * @throws {RangeError} when a point or weight is not finite, or a weight is negative.
 */
export function uploadKmeansPoints(device: GPUDevice, fn: string, plan: GpuKmeansPlan, points: Matrix, weights: Float64Array): UploadedKmeansPoints {
  const { dim } = plan;
  const data = points.data;
  let largest = 0;
  for (let i = 0; i < data.length; i++) {
    const magnitude = Math.abs(data[i]);
    if (!(magnitude <= Number.MAX_VALUE)) throw new RangeError(`${fn}: points must be finite (got ${data[i]} at row ${Math.floor(i / dim)})`);
    if (magnitude > largest) largest = magnitude;
  }
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    if (!(weights[i] >= 0 && weights[i] <= Number.MAX_VALUE)) throw new RangeError(`${fn}: weights must be finite and ≥ 0 (got ${weights[i]} at point ${i})`);
    total += weights[i];
  }
  if (!(total > 0 && total <= Number.MAX_VALUE)) throw new RangeError(`${fn}: weights must have a positive finite sum (got ${total})`);
  const pointExponent = largest > 0 ? exponentAbove(largest) : 0;
  const weightExponent = exponentAbove(total);
  const pointFactor = 2 ** -pointExponent;
  const weightFactor = 2 ** -weightExponent;

  // Scaled straight into the mapped uploads: a fresh host array per chunk (and its copy) cost as much as the
  // arithmetic at millions of points.
  const chunks: KmeansPointChunk[] = [];
  const made: GPUBuffer[] = [];
  const filled = (name: string, byteLength: number, fill: (bytes: ArrayBuffer) => void) => {
    const buffer = createBufferFilled(device, `kmeans-engine/${name}`, byteLength, fill);
    made.push(buffer);
    return buffer;
  };
  try {
    for (const { first, count } of plan.chunks) {
      const points = filled('points', count * dim * 4, (bytes) => {
        const scaled = new Float32Array(bytes, 0, count * dim);
        for (let i = 0, from = first * dim; i < scaled.length; i++, from++) scaled[i] = data[from] * pointFactor;
      });
      const chunkWeights = filled('weights', count * 4, (bytes) => {
        const scaled = new Float32Array(bytes, 0, count);
        for (let i = 0; i < count; i++) scaled[i] = weights[first + i] * weightFactor;
      });
      const assignments = filled('assignments', count * 4, (bytes) => new Uint32Array(bytes, 0, count).fill(0xffffffff));
      chunks.push({ first, count, points, weights: chunkWeights, assignments });
    }
  } catch (error) {
    for (const buffer of made) buffer.destroy();
    throw error;
  }
  return { chunks, weightExponent, pointExponent, destroy: () => destroyChunks(chunks) };
}

function destroyChunks(chunks: readonly KmeansPointChunk[]): void {
  for (const chunk of chunks) {
    chunk.points.destroy();
    chunk.weights.destroy();
    chunk.assignments.destroy();
  }
}
