import { createRandom, kmeans, kmeansAsync, randomPermutation } from '@vptq/kmeans';
import type { Matrix } from '@vptq/kmeans';
import { createCpuKmeansEngine } from '@vptq/kmeans/engine';
import type { AsyncKmeansEngine } from '@vptq/kmeans/engine';
import { readFileSync } from 'node:fs';

import { createTestRng, fixturePath, randomMatrix, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { createGpuKmeansEngine } from './create-gpu-kmeans-engine';
import { planGpuKmeans } from './plan-gpu-kmeans';

const device = await requestTestDevice();

/** `perCluster` points around each of `centers` random centres in [-10, 10)^dim, noise ±`spread`, interleaved. */
function clustered(clusters: number, perCluster: number, dim: number, spread: number, seed: number): Matrix {
  const next = createTestRng(seed);
  const centers = Float64Array.from({ length: clusters * dim }, () => next() * 20 - 10);
  const data = new Float32Array(clusters * perCluster * dim);
  for (let p = 0, i = 0; p < perCluster; p++) {
    for (let c = 0; c < clusters; c++) for (let j = 0; j < dim; j++) data[i++] = centers[c * dim + j] + (next() * 2 - 1) * spread;
  }
  return { data, rows: clusters * perCluster, cols: dim };
}

/**
 * Every linear weight matrix `[out, in]` of the stories260K model (llama2.c v0 file: 7 int32, then f32 tensors)
 * cut into VPTQ vectors: v consecutive output rows of one column, zero-padded (spec §2 step 4).
 */
function storiesVectors(v: number): Matrix {
  const file = readFileSync(fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'));
  const [dim, hidden, layers, heads, kvHeads, vocab] = new Int32Array(file.buffer, file.byteOffset, 7);
  const values = new Float32Array(file.buffer.slice(file.byteOffset + 28));
  const kvDim = (dim * kvHeads) / heads;
  let at = Math.abs(vocab) * dim + layers * dim;
  const matrices: Matrix[] = [];
  const take = (rows: number, cols: number) => {
    for (let l = 0; l < layers; l++, at += rows * cols) matrices.push({ data: values.subarray(at, at + rows * cols), rows, cols });
  };
  take(dim, dim); // wq
  take(kvDim, dim); // wk
  take(kvDim, dim); // wv
  take(dim, dim); // wo
  at += layers * dim; // rms_ffn_weight
  take(hidden, dim); // w1
  take(dim, hidden); // w2
  take(hidden, dim); // w3
  const vectors: number[] = [];
  for (const m of matrices) {
    for (let c = 0; c < m.cols; c++) {
      for (let r = 0; r < m.rows; r += v) for (let t = 0; t < v; t++) vectors.push(r + t < m.rows ? m.data[(r + t) * m.cols + c] : 0);
    }
  }
  return { data: Float32Array.from(vectors), rows: vectors.length / v, cols: v };
}

function randomWeights(count: number, seed: number): Float64Array {
  const next = createTestRng(seed);
  // Spread over two decades, every 13th zero, like Hessian diagonals with dead columns.
  return Float64Array.from({ length: count }, (_, i) => (i % 13 === 5 ? 0 : 10 ** (next() * 2 - 1)));
}

function squaredDistance(points: Matrix, point: number, centroids: Float32Array, centroid: number): number {
  let sum = 0;
  for (let j = 0; j < points.cols; j++) sum += (points.data[point * points.cols + j] - centroids[centroid * points.cols + j]) ** 2;
  return sum;
}

function squaredNorm(values: Float32Array, row: number, dim: number): number {
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += values[row * dim + j] ** 2;
  return sum;
}

/** The engine factory, counting the calls of each operation. */
/** The engine's calls counted; without `iterate`, so that the algorithm drives every iteration from the host. */
function counted(factory: ReturnType<typeof createGpuKmeansEngine>) {
  const calls: Record<string, number> = {};
  const wrapped = async (input: Parameters<typeof factory>[0]): Promise<AsyncKmeansEngine> => {
    const engine = await factory(input);
    const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
    return {
      step: (centroids) => (count('step'), engine.step(centroids)),
      clusterCosts: (centroids) => (count('clusterCosts'), engine.clusterCosts(centroids)),
      clusterMembers: (clusters, centroids) => (count('clusterMembers'), engine.clusterMembers(clusters, centroids)),
      assignments: () => (count('assignments'), engine.assignments()),
      destroy: () => (count('destroy'), engine.destroy?.()),
    };
  };
  return { wrapped, calls };
}

function bytes(array: Float32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

describe('planGpuKmeans', () => {
  const limits = { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 22 };

  it('splits the points into chunks of one binding and checks the accumulators against the limits', () => {
    const plan = planGpuKmeans('test', limits, { count: 100_000, dim: 8, k: 256 });
    expect(plan.chunks).toEqual([
      { first: 0, count: 32768 },
      { first: 32768, count: 32768 },
      { first: 65536, count: 32768 },
      { first: 98304, count: 1696 },
    ]);
    expect(plan.accumulatorWords).toBe(2 * 256 * 9);
    expect(planGpuKmeans('test', limits, { count: 1000, dim: 8, k: 10 }, { maxChunkPoints: 300 }).chunks).toHaveLength(4);
    expect(() => planGpuKmeans('test', limits, { count: 100_000, dim: 8, k: 65536 })).toThrow(
      "test: the per-cluster sums of k = 65536 centroids of dim 8 take 4718592 bytes, above the device's maxStorageBufferBindingSize/maxBufferSize of 1048576",
    );
  });

  it('rejects dim above 16 and k outside 1 … count', () => {
    expect(() => planGpuKmeans('test', limits, { count: 10, dim: 17, k: 2 })).toThrow('test: points.cols must be an integer between 1 and 16 (got 17)');
    expect(() => planGpuKmeans('test', limits, { count: 10, dim: 4, k: 11 })).toThrow(
      'test: k must be between 1 and the number of points (got k = 11, points = 10)',
    );
    expect(() => planGpuKmeans('test', limits, { count: 10, dim: 4, k: 0 })).toThrow(RangeError);
    expect(() => planGpuKmeans('test', limits, { count: 10, dim: 4, k: 2 }, { maxChunkPoints: 0 })).toThrow('options.maxChunkPoints');
  });
});

describe.skipIf(!device)('createGpuKmeansEngine', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it.each([
    [6, 3, 5000],
    [8, 129, 4000],
    [4, 700, 4000],
  ])('steps like the CPU engine: dim %i, k %i, %i weighted points', async (dim, k, count) => {
    const points = randomMatrix({ rows: count, cols: dim, seed: k, scale: 3 });
    const weights = randomWeights(count, k);
    const centroids = randomMatrix({ rows: k, cols: dim, seed: k + 1, scale: 3 }).data;
    const input = { points, weights, k };
    const engine = await createGpuKmeansEngine(gpu)(input);
    const cpu = createCpuKmeansEngine()(input);
    try {
      const step = await engine.step(centroids);
      const reference = cpu.step(centroids);
      expect(step.changed).toBe(count);

      // Assignments: identical except at near-ties. The f32 scores ½‖c‖² − x·c are off by at most
      // (dim + 2)·2^-24·(½‖c‖² + ‖x‖‖c‖), so a wrong choice is never worse than the best by more than
      // (dim + 2)·2^-21·(‖x‖² + ‖c_gpu‖² + ‖c_cpu‖²) (twice the two scores' errors, 2ab ≤ a² + b²).
      const assigned = await engine.assignments();
      const expected = cpu.assignments();
      let disagreements = 0;
      for (let i = 0; i < count; i++) {
        if (assigned[i] === expected[i]) continue;
        disagreements++;
        const gap = squaredDistance(points, i, centroids, assigned[i]) - squaredDistance(points, i, centroids, expected[i]);
        const bound = (dim + 2) * 2 ** -21 * (squaredNorm(points.data, i, dim) + squaredNorm(centroids, assigned[i], dim) + squaredNorm(centroids, expected[i], dim));
        expect(gap).toBeLessThanOrEqual(bound);
      }
      expect(disagreements).toBeLessThanOrEqual(count / 1000);

      // Sums against f64 sums over the GPU's own assignment: each term carries the f32 rounding of w and of
      // w·x ((1 + 2^-24)² − 1 ≤ 2^-23 + 2^-48 relative together; measured up to 2^-23.3) and the fixed-point
      // rounding, half a unit of 2^-62 of the normalized sum (Σ w ≤ 1, |x| ≤ 1), i.e. 2^-63·2^(e + m) with
      // 2^e ≥ Σ w, 2^m ≥ max |x|.
      const total = weights.reduce((sum, w) => sum + w, 0);
      const unit = 2 ** (Math.ceil(Math.log2(total)) + Math.ceil(Math.log2(3)) - 62);
      const sums = new Float64Array(k * dim);
      const magnitudes = new Float64Array(k * dim);
      const totals = new Float64Array(k);
      for (let i = 0; i < count; i++) {
        const c = assigned[i];
        totals[c] += weights[i];
        for (let j = 0; j < dim; j++) {
          sums[c * dim + j] += weights[i] * points.data[i * dim + j];
          magnitudes[c * dim + j] += Math.abs(weights[i] * points.data[i * dim + j]);
        }
      }
      for (let e = 0; e < k * dim; e++) {
        expect(Math.abs(step.sums[e] - sums[e])).toBeLessThanOrEqual((2 ** -23 + 2 ** -47) * magnitudes[e] + count * unit);
      }
      for (let c = 0; c < k; c++) expect(Math.abs(step.totals[c] - totals[c])).toBeLessThanOrEqual(2 ** -23 * totals[c] + count * unit);
      // The objective: f32 distances (≤ (dim + 1)·2^-24 relative) of positive terms; near-tie flips change it
      // by less than that.
      expect(Math.abs(step.objective - reference.objective)).toBeLessThanOrEqual(1e-6 * reference.objective);

      const second = await engine.step(centroids);
      expect(second.changed).toBe(0);
      expect(second.objective).toBe(step.objective);
    } finally {
      engine.destroy?.();
    }
  });

  it('runs kmeansAsync to the CPU result on separated clusters, weighted, with an empty cluster to repair', async () => {
    const points = clustered(12, 150, 5, 1, 3);
    const weights = randomWeights(points.rows, 4);
    // Start with one centroid far away: it gets no point and repair moves a point of the costliest cluster there.
    const start = clustered(11, 1, 5, 0.5, 5);
    const initialCentroids = { data: new Float32Array([...start.data, 1000, 1000, 1000, 1000, 1000]), rows: 12, cols: 5 };
    const options = { weights, initialCentroids, maxIterations: 50 };
    const { wrapped, calls } = counted(createGpuKmeansEngine(gpu));
    const gpuResult = await kmeansAsync(points, 12, { ...options, engine: wrapped });
    expect(calls).toMatchObject({ clusterCosts: 1, clusterMembers: 1, assignments: 1, destroy: 1 });
    const cpuResult = kmeans(points, 12, options);
    expect(gpuResult.iterations).toBe(cpuResult.iterations);
    expect(gpuResult.converged).toBe(true);
    expect([...gpuResult.assignments]).toEqual([...cpuResult.assignments]);
    expect(Math.abs(gpuResult.objective - cpuResult.objective)).toBeLessThanOrEqual(1e-5 * cpuResult.objective);
    // Centroids are means of the same points: the sums' 2^-23 relative rounding over |x| ≤ 11 plus f32 rounding.
    for (let i = 0; i < gpuResult.centroids.length; i++) {
      expect(Math.abs(gpuResult.centroids[i] - cpuResult.centroids[i])).toBeLessThanOrEqual(2 ** -22 * 11);
    }
  });

  it('repairs several empty clusters exactly as the CPU engine does', async () => {
    // Dyadic data: every normalized sum is exact in fixed point, so GPU and CPU agree bit for bit.
    const points = { data: new Float32Array([0, 1, 5, 6, 100, 101, 0, 0.5]), rows: 8, cols: 1 };
    const initialCentroids = { data: new Float32Array([3, 100.5, 1000, 2000, 3000]), rows: 5, cols: 1 };
    const options = { initialCentroids, maxIterations: 3 };
    const { wrapped, calls } = counted(createGpuKmeansEngine(gpu));
    const gpuResult = await kmeansAsync(points, 5, { ...options, engine: wrapped });
    expect(calls.clusterMembers).toBeGreaterThanOrEqual(1);
    expect(gpuResult).toEqual(kmeans(points, 5, options));
  });

  it('lists members beyond the initial capacity of the member list', async () => {
    // One cluster holds all 9000 points and the other centroid is far away: repair lists 9000 members, more
    // than the 4096 the list starts with, so the engine counts, grows the list and lists again.
    const points = randomMatrix({ rows: 9000, cols: 2, seed: 12 });
    const initialCentroids = { data: new Float32Array([0, 0, 500, 500]), rows: 2, cols: 2 };
    const options = { initialCentroids, maxIterations: 2 };
    const { wrapped, calls } = counted(createGpuKmeansEngine(gpu));
    const gpuResult = await kmeansAsync(points, 2, { ...options, engine: wrapped });
    expect(calls.clusterMembers).toBe(1);
    const cpuResult = kmeans(points, 2, options);
    expect([...gpuResult.assignments]).toEqual([...cpuResult.assignments]);
    expect(Math.abs(gpuResult.objective - cpuResult.objective)).toBeLessThanOrEqual(1e-5 * cpuResult.objective);
  });

  it('gives the same bytes on every run and for any chunking of the points', async () => {
    const points = randomMatrix({ rows: 3000, cols: 8, seed: 9 });
    const weights = randomWeights(3000, 10);
    const options = { weights, maxIterations: 15, tolerance: 0, seed: 3 };
    const first = await kmeansAsync(points, 64, { ...options, engine: createGpuKmeansEngine(gpu) });
    const again = await kmeansAsync(points, 64, { ...options, engine: createGpuKmeansEngine(gpu) });
    const chunked = await kmeansAsync(points, 64, { ...options, engine: createGpuKmeansEngine(gpu, { maxChunkPoints: 700 }) });
    for (const other of [again, chunked]) {
      expect(bytes(other.centroids).equals(bytes(first.centroids))).toBe(true);
      expect(bytes(other.assignments).equals(bytes(first.assignments))).toBe(true);
      expect(other.objective).toBe(first.objective);
    }
    const cpu = kmeans(points, 64, options);
    expect(Math.abs(first.objective - cpu.objective)).toBeLessThanOrEqual(1e-5 * cpu.objective);
  });

  it('iterates in device batches to the host-driven result, bit for bit', async () => {
    const points = randomMatrix({ rows: 5000, cols: 6, seed: 31 });
    const weights = randomWeights(5000, 32);
    for (const options of [
      { weights, maxIterations: 30, tolerance: 0, seed: 4 },
      { weights, maxIterations: 100, tolerance: 1e-4, seed: 5 },
    ]) {
      const hostDriven = counted(createGpuKmeansEngine(gpu));
      const viaHost = await kmeansAsync(points, 96, { ...options, engine: hostDriven.wrapped });
      const batched = await kmeansAsync(points, 96, { ...options, engine: createGpuKmeansEngine(gpu) });
      expect(hostDriven.calls.step).toBe(viaHost.iterations + 1);
      // The device update rounds Σwx / Σw once, from the same fixed-point integers, as the host's f64 quotient
      // does: the same iterations, bit for bit (only the objective's fixed-point scale differs).
      expect(batched.iterations).toBe(viaHost.iterations);
      expect(batched.converged).toBe(viaHost.converged);
      expect(bytes(batched.centroids).equals(bytes(viaHost.centroids))).toBe(true);
      expect(bytes(batched.assignments).equals(bytes(viaHost.assignments))).toBe(true);
      expect(Math.abs(batched.objective - viaHost.objective)).toBeLessThanOrEqual(1e-12 * viaHost.objective);
    }
  });

  it('iterates only after a step, and gives back the centroids each batch iteration ended with', async () => {
    const points = randomMatrix({ rows: 2000, cols: 4, seed: 33 });
    const engine = await createGpuKmeansEngine(gpu)({ points, weights: new Float64Array(2000).fill(1), k: 16 });
    try {
      await expect((engine.iterate as NonNullable<typeof engine.iterate>)(2)).rejects.toThrow(/iterate must follow a step/);
      const start = points.data.slice(0, 16 * 4);
      await engine.step(start);
      const run = await (engine.iterate as NonNullable<typeof engine.iterate>)(3);
      expect(Array.from(run.empty)).toEqual([0, 0, 0]);
      const iterated = engine.iteratedCentroids as NonNullable<typeof engine.iteratedCentroids>;
      expect(Array.from(await iterated(-1))).toEqual(Array.from(start));
      // Iteration 0's centroids are the means of the step's clusters, as the host's update rounds them.
      const step = await engine.step(start);
      const first = await iterated(0);
      for (let c = 0; c < 16; c++) {
        for (let j = 0; j < 4; j++) expect(first[c * 4 + j]).toBe(Math.fround(step.sums[c * 4 + j] / step.totals[c]));
      }
      // Stepping from an iterated batch's centroids reproduces that iteration's objective.
      const second = await engine.step(await iterated(1));
      expect(Math.abs(second.objective - run.objectives[1])).toBeLessThanOrEqual(1e-6 * run.objectives[1]);
      await expect(iterated(3)).rejects.toThrow(/iteratedCentroids needs an iteration of the last iterate call \(got 3\)/);
    } finally {
      engine.destroy?.();
    }
  });

  it.each(['random', 'kmeans++'] as const)('reaches the CPU result on real layer vectors of stories260K (v8, k 256, %s init)', async (init) => {
    // 28,640 vectors of 8 from all linear layers; 30 iterations. Measured: the same assignments and centroids
    // as the CPU engine, objectives 1e-9 apart.
    const points = storiesVectors(8);
    expect(points.rows).toBe(28640);
    const options = { init, seed: 0, maxIterations: 30, tolerance: 0 };
    const gpuResult = await kmeansAsync(points, 256, { ...options, engine: createGpuKmeansEngine(gpu) });
    const cpuResult = kmeans(points, 256, options);
    let disagreements = 0;
    for (let i = 0; i < points.rows; i++) if (gpuResult.assignments[i] !== cpuResult.assignments[i]) disagreements++;
    expect(disagreements).toBeLessThanOrEqual(points.rows / 1000);
    expect(Math.abs(gpuResult.objective - cpuResult.objective)).toBeLessThanOrEqual(1e-5 * cpuResult.objective);
    let largest = 0;
    for (const value of points.data) largest = Math.max(largest, Math.abs(value));
    for (let i = 0; i < cpuResult.centroids.length; i++) {
      expect(Math.abs(gpuResult.centroids[i] - cpuResult.centroids[i])).toBeLessThanOrEqual(2 ** -20 * largest);
    }
  });

  it('steps like the CPU engine with k = 65536 centroids of dim 8', { timeout: 120_000 }, async () => {
    // The largest codebook of VPTQ: 512 tiles of 128 centroids, indices above 16 bits, 4.7 MB of sums read
    // back. As many points as centroids, the fewest possible (lavapipe assigns about 0.2 G pairs per second,
    // so the step takes about 20 s there): each point is a centroid, shuffled, moved by at most 1e-3, far less
    // than the distance between random centroids, so its own centroid is the nearest and the CPU search prunes
    // almost everything.
    const k = 65536;
    const centroids = randomMatrix({ rows: k, cols: 8, seed: 16 }).data;
    const order = randomPermutation(k, createRandom(17));
    const noise = randomMatrix({ rows: k, cols: 8, seed: 18, scale: 1e-3 }).data;
    const points = { data: Float32Array.from({ length: k * 8 }, (_, e) => centroids[order[e >> 3] * 8 + (e & 7)] + noise[e]), rows: k, cols: 8 };
    const weights = randomWeights(k, 15);
    const input = { points, weights, k };
    const engine = await createGpuKmeansEngine(gpu)(input);
    try {
      const step = await engine.step(centroids);
      const cpu = createCpuKmeansEngine()(input);
      const reference = cpu.step(centroids);
      expect([...(await engine.assignments())]).toEqual([...cpu.assignments()]);
      expect([...cpu.assignments()]).toEqual([...order]);
      expect(Math.abs(step.objective - reference.objective)).toBeLessThanOrEqual(1e-6 * reference.objective);
      // Each cluster holds exactly its one point (the assignment is a permutation), so |Σ w·x| = Σ |w·x|.
      for (let c = 0; c < k; c++) {
        expect(Math.abs(step.totals[c] - reference.totals[c])).toBeLessThanOrEqual(2 ** -23 * reference.totals[c] + 2 ** -40);
        for (let j = 0; j < 8; j++) {
          const e = c * 8 + j;
          expect(Math.abs(step.sums[e] - reference.sums[e])).toBeLessThanOrEqual(2 ** -23 * Math.abs(reference.sums[e]) + 2 ** -40);
        }
      }
    } finally {
      engine.destroy?.();
    }
  });

  it('rejects points wider than 16, k above the point count and centroids beyond the f32 range', async () => {
    const wide = randomMatrix({ rows: 20, cols: 17, seed: 1 });
    await expect(kmeansAsync(wide, 4, { engine: createGpuKmeansEngine(gpu) })).rejects.toThrow(
      'createGpuKmeansEngine: points.cols must be an integer between 1 and 16 (got 17)',
    );
    const points = randomMatrix({ rows: 20, cols: 4, seed: 2 });
    await expect(kmeansAsync(points, 21, { engine: createGpuKmeansEngine(gpu) })).rejects.toThrow('kmeansAsync: k must be between 1');
    await expect(createGpuKmeansEngine(gpu)({ points, weights: new Float64Array(20).fill(1), k: 21 })).rejects.toThrow(
      'createGpuKmeansEngine: k must be between 1 and the number of points (got k = 21, points = 20)',
    );
    const engine: AsyncKmeansEngine = await createGpuKmeansEngine(gpu)({ points, weights: new Float64Array(20).fill(1), k: 2 });
    try {
      await expect(engine.step(new Float32Array([0, 0, 0, 0, 1e30, 0, 0, 0]))).rejects.toThrow(
        'createGpuKmeansEngine: centroids must be finite and within 2^60 times the largest point coordinate (got 1.0000000150474662e+30 at index 4)',
      );
    } finally {
      engine.destroy?.();
    }
    await expect(createGpuKmeansEngine(gpu, { assign: { workgroupSize: 7 } })({ points, weights: new Float64Array(20).fill(1), k: 2 })).rejects.toThrow(
      'options.workgroupSize must be 32, 64, 128 or 256 (got 7)',
    );
  });
});
