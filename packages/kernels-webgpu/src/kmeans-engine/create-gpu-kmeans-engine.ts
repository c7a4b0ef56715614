import type { AsyncKmeansEngine, KmeansClusterMembers, KmeansEngineInput, KmeansEngineStep, KmeansIterations } from '@vptq/kmeans/engine';

import { createStorageBuffer, readBuffer } from '../buffers';
import { captureGpuErrors } from '../dispatch';
import type { KernelDispatch } from '../dispatch';
import { bufferUsage, mapMode } from '../gpu-flags';
import { createKmeansAssignDispatch } from '../kmeans-assign/kmeans-assign';
import type { KmeansAssignOptions } from '../kmeans-assign/kmeans-assign';
import { boundsState } from '../kmeans-bounds/bounds-state';
import { createKmeansBoundsDispatch } from '../kmeans-bounds/kmeans-bounds';
import type { KmeansBoundsDispatch } from '../kmeans-bounds/kmeans-bounds';
import { createKmeansMembersDispatch } from '../kmeans-members/kmeans-members';
import { decodeFixed, fixedPointExponent } from '../kmeans-reduce/fixed-point';
import { createKmeansReduceDispatch } from '../kmeans-reduce/kmeans-reduce';
import { createKmeansUpdateDispatch } from '../kmeans-update/kmeans-update';
import type { KmeansReduceDispatch } from '../kmeans-reduce/kmeans-reduce';
import { planGpuKmeans } from './plan-gpu-kmeans';
import type { GpuKmeansPlan } from './plan-gpu-kmeans';
import { uploadKmeansPoints } from './upload-kmeans-points';
import type { UploadedKmeansPoints } from './upload-kmeans-points';

const label = 'kmeans-engine';
// Centroids farther out than this many times the largest point coordinate would overflow the f32 scores.
const maxCentroidExponent = 60;

/** Options of {@link createGpuKmeansEngine}. */
export interface GpuKmeansEngineOptions {
  /**
   * Most points per chunk; each chunk has its own points, weights and assignments buffers. Default: as many as
   * one storage binding holds (`maxStorageBufferBindingSize` / (4·dim)). Smaller values only serve tests.
   */
  readonly maxChunkPoints?: number;
  /** Tuning of the assignment kernel (workgroup size, points per invocation, distance form). */
  readonly assign?: KmeansAssignOptions;
  /**
   * Keep per-point bounds across iterations and scan only the points they do not settle (`kmeans-bounds`): the
   * same assignments as the full scan, at a fraction of its work once the centroids settle. Needs the expanded
   * distance (the default). Default true.
   */
  readonly bounds?: boolean;
  /** With `bounds`: most centroids per iteration whose exact distance every point measures (1–256). Default 128. */
  readonly maxMovers?: number;
  /** Told the number of points each assignment scanned in full (all of them without `bounds`). */
  readonly onScanned?: (points: number) => void;
}

/**
 * A k-means engine on the GPU for `kmeansAsync` of @vptq/kmeans (`options.engine`): the points `[count, dim ≤ 16]`
 * f32 and their weights are uploaded once, in chunks of one storage binding each (scaled by powers of two:
 * coordinates into [−1, 1], weights to a sum ≤ 1); each step then uploads the `[k, dim]` centroids, runs the
 * assignment (bounded by default: only the points whose bounds do not settle them are scanned, `kmeans-bounds`;
 * the tiled full scan with `bounds: false`) and the fixed-point reduction over every chunk in one submit, and reads back the
 * `[k, dim + 1]` sums and totals and the objective and changed count (16 bytes): O(k·dim) per iteration. The
 * algorithm (initialization, update, repair, convergence) stays in @vptq/kmeans; its CPU engine is the twin.
 * `iterate(count)` runs `count` iterations in one submit with the update on the device (`kmeans-update`) and reads
 * back 16 bytes per iteration, so `kmeansAsync` makes one round trip per batch of iterations instead of one each.
 *
 * Deterministic: the sums are 64-bit fixed-point integers added with integer atomics (exact, so independent of
 * order, chunking and workgroup count) and the member lists of repair are sorted, so the same inputs give the
 * same bytes on the same device. Against the CPU engine: assignments agree except at near-ties of the f32
 * scores; sums carry the f32 rounding of each weight and each product w·x (≤ 2^-23 relative per term).
 *
 * @param device - the device (keep its `GPU` object alive while it is in use).
 * @param options - see {@link GpuKmeansEngineOptions}.
 * @returns an engine factory (`AsyncKmeansEngineFactory` of @vptq/kmeans/engine), called once per run.
 * @throws {RangeError} (from the factory) for dim above 16, k outside 1 … count, non-finite data, sizes beyond the
 *   device limits or centroids beyond 2^60 times the largest point coordinate.
 * @example
 * const result = await kmeansAsync(points, 4096, { weights, engine: createGpuKmeansEngine(device) });
 */
export function createGpuKmeansEngine(
  device: GPUDevice,
  options: GpuKmeansEngineOptions = {},
): (input: KmeansEngineInput) => Promise<AsyncKmeansEngine> {
  const fn = 'createGpuKmeansEngine';
  if (device === null || typeof device !== 'object' || typeof device.createBuffer !== 'function') {
    throw new TypeError(`${fn}: device must be a GPUDevice (got ${String(device)})`);
  }
  return async ({ points, weights, k }) => {
    if (!(points?.data instanceof Float32Array) || points.data.length !== points.rows * points.cols) {
      throw new TypeError(`${fn}: points must be a Matrix with a Float32Array of rows × cols values`);
    }
    if (!(weights instanceof Float64Array) || weights.length !== points.rows) {
      throw new TypeError(`${fn}: weights must be a Float64Array of one entry per point (got ${weights?.length}, points = ${points.rows})`);
    }
    const plan = planGpuKmeans(fn, device.limits, { count: points.rows, dim: points.cols, k }, options);
    const uploaded = await captureGpuErrors(device, label, () => uploadKmeansPoints(device, fn, plan, points, weights));
    try {
      return await captureGpuErrors(device, label, () => createEngine(device, plan, uploaded, options));
    } catch (error) {
      uploaded.destroy();
      throw error;
    }
  };
}

async function createEngine(device: GPUDevice, plan: GpuKmeansPlan, uploaded: UploadedKmeansPoints, options: GpuKmeansEngineOptions): Promise<AsyncKmeansEngine> {
  const { k, dim, count } = plan;
  const { chunks, weightExponent, pointExponent } = uploaded;
  const owned: { destroy(): void }[] = [];
  const storage = (name: string, bytes: number) => {
    const buffer = createStorageBuffer(device, `${label}/${name}`, bytes);
    owned.push(buffer);
    return buffer;
  };
  const centroids = storage('centroids', k * dim * 4);
  const accumulators = storage('accumulators', plan.accumulatorWords * 4);
  const stats = storage('stats', 16);
  const bounded = (options.bounds ?? true) && options.assign?.distance !== 'direct';
  // The bounded assignment's state words up to the chunks' list lengths: how many points each scanned.
  const stateWords = boundsState.listLengths + chunks.length;
  const staging = device.createBuffer({
    label: `${label}/staging`,
    size: plan.accumulatorWords * 4 + 16 + stateWords * 4,
    usage: bufferUsage.mapRead | bufferUsage.copyDst,
  });
  owned.push(staging);
  // Sums of w·x: |Σ| ≤ Σ w ≤ 1 per cluster in normalized units (the f32 rounding of the weights can add 2^-24,
  // still far inside ±2^63 at 2^62 units).
  const sumExponent = fixedPointExponent(1);
  const sumScale = 2 ** sumExponent;

  const dispatches: KernelDispatch[] = [];
  // The device M-step of `iterate`; its batches record each iteration's centroids (slot 0: those it started
  // from) and statistics, grown to the largest batch asked for.
  const update = await createKmeansUpdateDispatch(device, { accumulators, centroids, stats }, { k, dim });
  dispatches.push(update);
  let history: { slots: number; centroids: GPUBuffer; stats: GPUBuffer; scanned: GPUBuffer } | undefined;
  // Iterated centroids are means of points in [−1, 1], so the cost's fixed point needs no per-step bound.
  const iteratedCostExponent = fixedPointExponent(dim * 4);
  // `iterate` continues from the reduction of the last step; a cost reduction (repair) overwrites it.
  let accumulatorsHoldStep = false;
  const assignSteps: KernelDispatch[] = [];
  const reduceSteps: KmeansReduceDispatch[] = [];
  const costSteps: KmeansReduceDispatch[] = [];
  let bounds: KmeansBoundsDispatch | undefined;
  try {
    if (bounded) {
      bounds = await createKmeansBoundsDispatch(device, { centroids, stats, chunks }, { k, dim }, { maxMovers: options.maxMovers, assign: options.assign });
      assignSteps.push(bounds);
    }
    for (const chunk of chunks) {
      const shape = { count: chunk.count, k, dim };
      const common = { points: chunk.points, weights: chunk.weights, assignments: chunk.assignments, centroids, accumulators, stats };
      if (!bounded) assignSteps.push(await createKmeansAssignDispatch(device, { points: chunk.points, centroids, assignments: chunk.assignments, stats }, shape, options.assign));
      reduceSteps.push(await createKmeansReduceDispatch(device, common, { ...shape, costMode: false, sumScale, costScale: 1 }));
      costSteps.push(await createKmeansReduceDispatch(device, common, { ...shape, costMode: true, sumScale, costScale: 1 }));
    }
    dispatches.push(...assignSteps, ...reduceSteps, ...costSteps);
  } catch (error) {
    for (const dispatch of [...assignSteps, ...reduceSteps, ...costSteps]) dispatch.destroy();
    for (const buffer of owned) buffer.destroy();
    throw error;
  }

  let members: MemberLists | undefined;
  let destroyed = false;

  /** Uploads centroids (scaled like the points) and returns the exponent of the cost fixed point. */
  const loadCentroids = (values: Float32Array): number => {
    if (!(values instanceof Float32Array) || values.length !== k * dim) {
      throw new TypeError(`createGpuKmeansEngine: centroids must be a Float32Array [k, dim] of ${k * dim} values (got ${values?.length})`);
    }
    const scaled = new Float32Array(values.length);
    const factor = 2 ** -pointExponent;
    let largest = 0;
    for (let i = 0; i < values.length; i++) {
      scaled[i] = values[i] * factor;
      const magnitude = Math.abs(scaled[i]);
      if (!(magnitude <= 2 ** maxCentroidExponent)) {
        throw new RangeError(
          `createGpuKmeansEngine: centroids must be finite and within 2^${maxCentroidExponent} times the largest point coordinate (got ${values[i]} at index ${i})`,
        );
      }
      if (magnitude > largest) largest = magnitude;
    }
    device.queue.writeBuffer(centroids, 0, scaled);
    // Σ w·‖x − c‖² ≤ Σ w · dim · (1 + max |c|)² in normalized units.
    return fixedPointExponent(dim * (1 + largest) ** 2);
  };

  /** Encodes `steps` after clearing `clear`, copies `words` u32 of each `copies` source into staging, reads them. */
  const run = async (steps: readonly KernelDispatch[], clear: readonly GPUBuffer[], copies: readonly (readonly [GPUBuffer, number])[]) => {
    const encoder = device.createCommandEncoder({ label });
    for (const buffer of clear) encoder.clearBuffer(buffer);
    const pass = encoder.beginComputePass({ label });
    for (const step of steps) step.encode(pass);
    pass.end();
    let offset = 0;
    for (const [source, words] of copies) {
      encoder.copyBufferToBuffer(source, 0, staging, offset, words * 4);
      offset += words * 4;
    }
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(mapMode.read, 0, offset);
    const words = new Uint32Array(staging.getMappedRange(0, offset).slice(0));
    staging.unmap();
    return words;
  };

  /** Tells `onScanned` how many points one assignment scanned, from its copy of the bounds state at `offset`. */
  const reportScanned = (words: Uint32Array | undefined, offset: number) => {
    if (!options.onScanned) return;
    if (!bounds || words === undefined) return options.onScanned(count);
    let scanned = 0;
    for (let i = 0; i < chunks.length; i++) scanned += words[offset + boundsState.listLengths + i];
    options.onScanned(scanned);
  };

  const checkAlive = () => {
    if (destroyed) throw new Error('createGpuKmeansEngine: the engine was destroyed');
  };

  return {
    step: (values) =>
      captureGpuErrors(device, label, async (): Promise<KmeansEngineStep> => {
        checkAlive();
        const costExponent = loadCentroids(values);
        for (const reduce of reduceSteps) reduce.setScales(sumScale, 2 ** costExponent);
        const words = await run([...assignSteps, ...reduceSteps], bounds ? [accumulators, stats, bounds.state] : [accumulators, stats], [
          [accumulators, plan.accumulatorWords],
          [stats, 4],
          ...(bounds ? [[bounds.state, stateWords] as const] : []),
        ]);
        reportScanned(words, plan.accumulatorWords + 4);
        const sums = new Float64Array(k * dim);
        const totals = new Float64Array(k);
        const sumFactor = 2 ** (weightExponent + pointExponent - sumExponent);
        const totalFactor = 2 ** (weightExponent - sumExponent);
        for (let c = 0; c < k; c++) {
          const pair = c * (dim + 1);
          for (let j = 0; j < dim; j++) sums[c * dim + j] = decodeFixed(words, pair + j) * sumFactor;
          totals[c] = decodeFixed(words, pair + dim) * totalFactor;
        }
        const statsPair = plan.accumulatorWords / 2;
        const objective = decodeFixed(words, statsPair) * 2 ** (weightExponent + 2 * pointExponent - costExponent);
        accumulatorsHoldStep = true;
        return { sums, totals, objective, changed: words[plan.accumulatorWords + 2] };
      }),

    iterate: (size) =>
      captureGpuErrors(device, label, async (): Promise<KmeansIterations> => {
        checkAlive();
        if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`createGpuKmeansEngine: iterate needs a positive count (got ${size})`);
        if (!accumulatorsHoldStep) throw new Error('createGpuKmeansEngine: iterate must follow a step');
        if (history === undefined || history.slots < size + 1) {
          history?.centroids.destroy();
          history?.stats.destroy();
          history?.scanned.destroy();
          history = {
            slots: size + 1,
            centroids: createStorageBuffer(device, `${label}/iterated-centroids`, (size + 1) * k * dim * 4),
            stats: createStorageBuffer(device, `${label}/iterated-stats`, size * 16),
            scanned: createStorageBuffer(device, `${label}/iterated-scanned`, size * stateWords * 4),
          };
        }
        for (const reduce of reduceSteps) reduce.setScales(sumScale, 2 ** iteratedCostExponent);
        const centroidBytes = k * dim * 4;
        const encoder = device.createCommandEncoder({ label });
        encoder.copyBufferToBuffer(centroids, 0, history.centroids, 0, centroidBytes);
        for (let j = 0; j < size; j++) {
          encoder.clearBuffer(stats);
          const updatePass = encoder.beginComputePass({ label });
          update.encode(updatePass);
          updatePass.end();
          encoder.copyBufferToBuffer(centroids, 0, history.centroids, (j + 1) * centroidBytes, centroidBytes);
          encoder.clearBuffer(accumulators);
          if (bounds) encoder.clearBuffer(bounds.state);
          const pass = encoder.beginComputePass({ label });
          for (const step of [...assignSteps, ...reduceSteps]) step.encode(pass);
          pass.end();
          encoder.copyBufferToBuffer(stats, 0, history.stats, j * 16, 16);
          if (bounds && options.onScanned) encoder.copyBufferToBuffer(bounds.state, 0, history.scanned, j * stateWords * 4, stateWords * 4);
        }
        device.queue.submit([encoder.finish()]);
        const words = new Uint32Array(await readBuffer(device, history.stats, size * 16));
        if (options.onScanned) {
          const scanned = bounds ? new Uint32Array(await readBuffer(device, history.scanned, size * stateWords * 4)) : undefined;
          for (let j = 0; j < size; j++) reportScanned(scanned, j * stateWords);
        }
        const factor = 2 ** (weightExponent + 2 * pointExponent - iteratedCostExponent);
        const objectives = new Float64Array(size);
        const changed = new Uint32Array(size);
        const empty = new Uint32Array(size);
        for (let j = 0; j < size; j++) {
          objectives[j] = decodeFixed(words, 2 * j) * factor;
          changed[j] = words[4 * j + 2];
          empty[j] = words[4 * j + 3];
        }
        return { objectives, changed, empty };
      }),

    iteratedCentroids: (index) =>
      captureGpuErrors(device, label, async () => {
        checkAlive();
        if (history === undefined || !Number.isSafeInteger(index) || index < -1 || index + 1 >= history.slots) {
          throw new RangeError(`createGpuKmeansEngine: iteratedCentroids needs an iteration of the last iterate call (got ${index})`);
        }
        const values = new Float32Array(await readBuffer(device, { buffer: history.centroids, offset: (index + 1) * k * dim * 4, size: k * dim * 4 }));
        const factor = 2 ** pointExponent;
        for (let i = 0; i < values.length; i++) values[i] *= factor;
        return values;
      }),

    clusterCosts: (values) =>
      captureGpuErrors(device, label, async () => {
        checkAlive();
        const costExponent = loadCentroids(values);
        for (const cost of costSteps) cost.setScales(sumScale, 2 ** costExponent);
        accumulatorsHoldStep = false;
        const words = await run(costSteps, [accumulators], [[accumulators, 2 * k]]);
        const factor = 2 ** (weightExponent + 2 * pointExponent - costExponent);
        return Float64Array.from({ length: k }, (_, c) => decodeFixed(words, c) * factor);
      }),

    clusterMembers: (clusters, values) =>
      captureGpuErrors(device, label, async (): Promise<KmeansClusterMembers> => {
        checkAlive();
        loadCentroids(values);
        members ??= createMemberLists(device, plan, uploaded, centroids);
        return members.list(clusters, 2 ** (weightExponent + 2 * pointExponent));
      }),

    assignments: () =>
      captureGpuErrors(device, label, async () => {
        checkAlive();
        const result = new Uint32Array(count);
        for (const chunk of chunks) result.set(new Uint32Array(await readBuffer(device, chunk.assignments, chunk.count * 4)), chunk.first);
        return result;
      }),

    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const dispatch of dispatches) dispatch.destroy();
      members?.destroy();
      history?.centroids.destroy();
      history?.stats.destroy();
      history?.scanned.destroy();
      for (const buffer of owned) buffer.destroy();
      uploaded.destroy();
    },
  };
}

interface MemberLists {
  list(clusters: Uint32Array, costFactor: number): Promise<KmeansClusterMembers>;
  destroy(): void;
}

/** The member listing of empty-cluster repair: buffers made at its first use, grown when a list overflows. */
function createMemberLists(device: GPUDevice, plan: GpuKmeansPlan, uploaded: UploadedKmeansPoints, centroids: GPUBuffer): MemberLists {
  const { k, dim } = plan;
  const slots = createStorageBuffer(device, `${label}/slots`, k * 4);
  const counter = createStorageBuffer(device, `${label}/counter`, 16);
  let capacity = plan.initialMemberCapacity;
  let entries = createStorageBuffer(device, `${label}/entries`, capacity * 16);
  let steps: KernelDispatch[] = [];

  const record = async () => {
    for (const step of steps) step.destroy();
    steps = [];
    for (const chunk of uploaded.chunks) {
      const buffers = { points: chunk.points, weights: chunk.weights, assignments: chunk.assignments, centroids, slots, counter, entries };
      steps.push(await createKmeansMembersDispatch(device, buffers, { count: chunk.count, first: chunk.first, capacity, dim }));
    }
  };

  return {
    async list(clusters, costFactor) {
      const slotOf = new Uint32Array(k).fill(0xffffffff);
      clusters.forEach((cluster, slot) => {
        if (!(cluster < k) || slotOf[cluster] !== 0xffffffff) {
          throw new RangeError(`createGpuKmeansEngine: clusterMembers needs distinct cluster indices below k = ${k} (got ${cluster} at ${slot})`);
        }
        slotOf[cluster] = slot;
      });
      device.queue.writeBuffer(slots, 0, slotOf);
      if (steps.length === 0) await record();
      for (;;) {
        const encoder = device.createCommandEncoder({ label });
        encoder.clearBuffer(counter);
        const pass = encoder.beginComputePass({ label });
        for (const step of steps) step.encode(pass);
        pass.end();
        device.queue.submit([encoder.finish()]);
        const found = new Uint32Array(await readBuffer(device, counter, 4))[0];
        if (found <= capacity) {
          return sortMembers(new Uint32Array(found > 0 ? await readBuffer(device, entries, found * 16) : new ArrayBuffer(0)), clusters.length, costFactor);
        }
        if (found > plan.maxMemberCapacity) {
          throw new RangeError(
            `createGpuKmeansEngine: ${found} members of clusters to repair do not fit one storage binding (at most ${plan.maxMemberCapacity} entries of 16 bytes)`,
          );
        }
        entries.destroy();
        capacity = found;
        entries = createStorageBuffer(device, `${label}/entries`, capacity * 16);
        await record();
      }
    },
    destroy() {
      for (const step of steps) step.destroy();
      slots.destroy();
      counter.destroy();
      entries.destroy();
    },
  };
}

/** Groups entries (point, slot, cost bits, 0) by slot, points ascending: a fixed order whatever the atomics did. */
function sortMembers(entries: Uint32Array, slots: number, costFactor: number): KmeansClusterMembers {
  const found = entries.length / 4;
  const order = Uint32Array.from({ length: found }, (_, i) => i);
  order.sort((a, b) => entries[4 * a + 1] - entries[4 * b + 1] || entries[4 * a] - entries[4 * b]);
  const offsets = new Uint32Array(slots + 1);
  for (let i = 0; i < found; i++) offsets[entries[4 * i + 1] + 1]++;
  for (let s = 0; s < slots; s++) offsets[s + 1] += offsets[s];
  const points = new Uint32Array(found);
  const costs = new Float64Array(found);
  const bits = new Float32Array(entries.buffer, entries.byteOffset, entries.length);
  order.forEach((entry, position) => {
    points[position] = entries[4 * entry];
    costs[position] = bits[4 * entry + 2] * costFactor;
  });
  return { offsets, points, costs };
}
