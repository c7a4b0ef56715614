import { createTestRng, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createBufferWithData, createStorageBuffer, readBuffer } from '../buffers';
import { compileShader } from '../compile-shader';
import { submitDispatches } from '../dispatch';
import { decodeFixed, exponentAbove, fixedPointExponent } from './fixed-point';
import { createKmeansReduceDispatch, kmeansReduceWords } from './kmeans-reduce';
import { kmeansReduceWgsl } from './kmeans-reduce.wgsl';

const device = await requestTestDevice();

interface Problem {
  count: number;
  k: number;
  dim: number;
  points: Float32Array;
  weights: Float32Array;
  assignments: Uint32Array;
  centroids: Float32Array;
}

/** Points in [-1, 1), weights summing to about 1 with every 7th zero, random assignments: the engine's normalized units. */
function problem(count: number, k: number, dim: number, seed: number): Problem {
  const next = createTestRng(seed);
  const points = Float32Array.from({ length: count * dim }, () => next() * 2 - 1);
  const weights = Float32Array.from({ length: count }, (_, i) => (i % 7 === 3 ? 0 : (next() * 2) / count));
  const assignments = Uint32Array.from({ length: count }, () => Math.floor(next() * k));
  const centroids = Float32Array.from({ length: k * dim }, () => next() * 2 - 1);
  return { count, k, dim, points, weights, assignments, centroids };
}

async function reduceOnGpu(gpu: GPUDevice, p: Problem, costMode: boolean, sumScale: number, costScale: number, privateAccumulation?: boolean) {
  const words = kmeansReduceWords(p.k, p.dim, costMode);
  const buffers = {
    points: createBufferWithData(gpu, 'test/points', p.points),
    weights: createBufferWithData(gpu, 'test/weights', p.weights),
    assignments: createBufferWithData(gpu, 'test/assignments', p.assignments),
    centroids: createBufferWithData(gpu, 'test/centroids', p.centroids),
    accumulators: createStorageBuffer(gpu, 'test/accumulators', words * 4),
    stats: createStorageBuffer(gpu, 'test/stats', 16),
  };
  const shape = { count: p.count, k: p.k, dim: p.dim, costMode, sumScale, costScale };
  const dispatch = await createKmeansReduceDispatch(gpu, buffers, shape, { privateAccumulation });
  submitDispatches(gpu, 'test', [dispatch]);
  const accumulators = new Uint32Array(await readBuffer(gpu, buffers.accumulators, words * 4));
  const stats = new Uint32Array(await readBuffer(gpu, buffers.stats));
  dispatch.destroy();
  for (const buffer of Object.values(buffers)) buffer.destroy();
  return { accumulators, stats };
}

/**
 * The exact fixed-point sums the kernel must produce for Σ w·x and Σ w: each addend is the f32 product, scaled
 * by a power of two and rounded half to even to an integer, summed as BigInt and wrapped to 64 bits.
 */
function exactSums(p: Problem, sumScale: number): Uint32Array {
  const channels = p.dim + 1;
  const sums = Array.from({ length: p.k * channels }, () => 0n);
  const toInteger = (value: number) => {
    const floor = Math.floor(value);
    const fraction = value - floor;
    const rounded = fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
    return BigInt(rounded);
  };
  for (let i = 0; i < p.count; i++) {
    const w = p.weights[i];
    if (w === 0) continue;
    const base = p.assignments[i] * channels;
    for (let j = 0; j < p.dim; j++) sums[base + j] += toInteger(Math.fround(Math.fround(w * p.points[i * p.dim + j]) * sumScale));
    sums[base + p.dim] += toInteger(Math.fround(w * sumScale));
  }
  const words = new Uint32Array(2 * sums.length);
  sums.forEach((sum, pair) => {
    const wrapped = BigInt.asUintN(64, sum);
    words[2 * pair] = Number(wrapped & 0xffffffffn);
    words[2 * pair + 1] = Number(wrapped >> 32n);
  });
  return words;
}

/** f64 Σ w·‖x − c‖² per cluster and in total. */
function costs(p: Problem): { perCluster: Float64Array; total: number } {
  const perCluster = new Float64Array(p.k);
  let total = 0;
  for (let i = 0; i < p.count; i++) {
    const c = p.assignments[i];
    let distance = 0;
    for (let j = 0; j < p.dim; j++) distance += (p.points[i * p.dim + j] - p.centroids[c * p.dim + j]) ** 2;
    perCluster[c] += p.weights[i] * distance;
    total += p.weights[i] * distance;
  }
  return { perCluster, total };
}

describe('fixed-point helpers', () => {
  it('decode two’s complement word pairs and find power-of-two scales', () => {
    expect(decodeFixed(new Uint32Array([5, 0, 0xfffffffb, 0xffffffff, 0, 1]), 0)).toBe(5);
    expect(decodeFixed(new Uint32Array([5, 0, 0xfffffffb, 0xffffffff, 0, 1]), 1)).toBe(-5);
    expect(decodeFixed(new Uint32Array([5, 0, 0xfffffffb, 0xffffffff, 0, 1]), 2)).toBe(4294967296);
    expect([exponentAbove(1), exponentAbove(1.0000001), exponentAbove(0.5), exponentAbove(0.3), exponentAbove(2 ** 40)]).toEqual([0, 1, -1, -1, 40]);
    expect(fixedPointExponent(1)).toBe(62);
    expect(fixedPointExponent(2 ** -100)).toBe(127);
  });
});

describe.skipIf(!device)('createKmeansReduceDispatch', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('compiles', async () => {
    await expect(compileShader(gpu, 'kmeans-reduce', kmeansReduceWgsl)).resolves.toBeDefined();
  });

  it('sums w·x and w per cluster to exactly the fixed-point integers, in private and global accumulation alike', async () => {
    const p = problem(5000, 37, 6, 1);
    const sumScale = 2 ** fixedPointExponent(1);
    const costScale = 2 ** fixedPointExponent(6 * 4);
    const global = await reduceOnGpu(gpu, p, false, sumScale, costScale, false);
    expect(global.accumulators).toEqual(exactSums(p, sumScale));
    // Integer sums are order-free: the private path (workgroup memory first) gives the same bits, objective included.
    const privately = await reduceOnGpu(gpu, p, false, sumScale, costScale, true);
    expect(privately.accumulators).toEqual(global.accumulators);
    expect(privately.stats).toEqual(global.stats);
    const again = await reduceOnGpu(gpu, p, false, sumScale, costScale, false);
    expect(again.stats).toEqual(global.stats);
  });

  it('sums the objective and per-cluster costs within f32 rounding of the f64 values', async () => {
    const p = problem(3000, 300, 8, 2);
    const sumScale = 2 ** fixedPointExponent(1);
    // |x − c| < 2 per coordinate, so ‖x − c‖² < 8 · 4 and the weighted total stays below 32.
    const costScale = 2 ** fixedPointExponent(32);
    const reference = costs(p);
    const step = await reduceOnGpu(gpu, p, false, sumScale, costScale);
    // Each weighted distance is an f32 sum of 8 squares (relative error ≤ 9 · 2^-24 with the product) plus
    // one rounding to 2^-57 units; all terms are ≥ 0, so the relative error of the total is as small.
    expect(Math.abs(decodeFixed(step.stats, 0) / costScale - reference.total)).toBeLessThanOrEqual(reference.total * 10 * 2 ** -24);
    const perCluster = await reduceOnGpu(gpu, p, true, sumScale, costScale);
    for (let c = 0; c < p.k; c++) {
      const error = Math.abs(decodeFixed(perCluster.accumulators, c) / costScale - reference.perCluster[c]);
      expect(error).toBeLessThanOrEqual(reference.perCluster[c] * 10 * 2 ** -24 + p.count / costScale);
    }
  });

  it('keeps sums that cancel exact: a cluster of +x and −x sums to zero', async () => {
    const p = problem(512, 2, 3, 3);
    for (let i = 256; i < 512; i++) {
      for (let j = 0; j < 3; j++) p.points[i * 3 + j] = -p.points[(i - 256) * 3 + j];
      p.weights[i] = p.weights[i - 256];
      p.assignments[i] = p.assignments[i - 256];
    }
    const { accumulators } = await reduceOnGpu(gpu, p, false, 2 ** 62, 2 ** 55);
    for (let c = 0; c < 2; c++) for (let j = 0; j < 3; j++) expect(decodeFixed(accumulators, c * 4 + j)).toBe(0);
  });

  it('rejects scales that are not powers of two and private sums that do not fit', async () => {
    const p = problem(10, 2, 2, 4);
    await expect(reduceOnGpu(gpu, p, false, 3, 1)).rejects.toThrow(
      'createKmeansReduceDispatch: shape.sumScale must be a power of two between 2^-126 and 2^127 (got 3)',
    );
    const large = problem(10, 8000, 2, 5);
    await expect(reduceOnGpu(gpu, large, false, 1, 1, true)).rejects.toThrow(/above the device's maxComputeWorkgroupStorageSize/);
  });
});
