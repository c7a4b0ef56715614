import type { Matrix } from '@vptq/kmeans';

import { createBufferWithData } from '../buffers';
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

  const chunks: KmeansPointChunk[] = [];
  try {
    for (const { first, count } of plan.chunks) {
      const scaledPoints = new Float32Array(count * dim);
      for (let i = 0, from = first * dim; i < scaledPoints.length; i++, from++) scaledPoints[i] = data[from] * pointFactor;
      const scaledWeights = new Float32Array(count);
      for (let i = 0; i < count; i++) scaledWeights[i] = weights[first + i] * weightFactor;
      chunks.push({
        first,
        count,
        points: createBufferWithData(device, 'kmeans-engine/points', scaledPoints),
        weights: createBufferWithData(device, 'kmeans-engine/weights', scaledWeights),
        assignments: createBufferWithData(device, 'kmeans-engine/assignments', new Uint32Array(count).fill(0xffffffff)),
      });
    }
  } catch (error) {
    destroyChunks(chunks);
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
