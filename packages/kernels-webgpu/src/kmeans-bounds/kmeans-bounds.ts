import { createStorageBuffer, createUniformBuffer, packParams } from '../buffers';
import type { BufferBinding } from '../buffers';
import { ComputeStep, DispatchSequence, flatGrid } from '../dispatch';
import type { Destroyable, KernelDispatch } from '../dispatch';
import { resolveKmeansAssignOptions } from '../kmeans-assign/kmeans-assign';
import type { KmeansAssignOptions } from '../kmeans-assign/kmeans-assign';
import { getComputePipeline } from '../pipeline-cache';
import { assertCount } from '../validate';
import { boundsState } from './bounds-state';
import { kmeansDriftWgsl } from './kmeans-drift.wgsl';
import { kmeansFilterWgsl } from './kmeans-filter.wgsl';
import { kmeansMoversWgsl } from './kmeans-movers.wgsl';
import { kmeansScanWgsl } from './kmeans-scan.wgsl';

const label = 'kmeans-bounds';
const workgroupSize = 256;

/** Default most movers (centroids whose distance every point measures exactly) per iteration. */
const defaultMaxMovers = 128;

/** One chunk of points of a bounded assignment (the k-means engine's chunks). */
export interface KmeansBoundsChunk {
  readonly count: number;
  /** `[count, dim]` f32. */
  readonly points: GPUBuffer;
  /** `[count]` u32, 0xffffffff until the first assignment. */
  readonly assignments: GPUBuffer;
}

/** The bounded assignment of every chunk, and the buffers it keeps between assignments. */
export interface KmeansBoundsDispatch extends KernelDispatch {
  /**
   * `boundsState.words` u32 that must be cleared (`clearBuffer`) before every encode; after the dispatch, word
   * `boundsState.listLengths + i` holds the number of points of chunk i that were scanned.
   */
  readonly state: GPUBuffer;
}

/**
 * Records nearest-centroid assignment of every chunk against `centroids` with bounds kept across calls, giving
 * the full scan's result (`kmeans-scan` is `kmeans-assign`'s arithmetic) while scanning only the points whose
 * bounds do not prove their centroid unchanged. Four kernels per call: drift (how far each centroid moved since
 * the last call, the largest norm), movers (the at most `maxMovers` centroids that moved most), filter (per point:
 * move the bounds, test, list) and scan (the listed points, tiled as the full assignment). Changed assignments are
 * counted into `stats[2]`, as by the full assignment. Every point is scanned on the first call (its assignment is
 * 0xffffffff). Deterministic: list orders depend on atomics, but every point's result and bounds do not.
 *
 * @throws {RangeError} for more chunks than the state has room for, sizes the device cannot dispatch or
 *   options out of range.
 */
export async function createKmeansBoundsDispatch(
  device: GPUDevice,
  buffers: { readonly centroids: BufferBinding; readonly stats: BufferBinding; readonly chunks: readonly KmeansBoundsChunk[] },
  shape: { readonly k: number; readonly dim: number },
  options: { readonly maxMovers?: number; readonly assign?: KmeansAssignOptions } = {},
): Promise<KmeansBoundsDispatch> {
  const fn = 'createKmeansBoundsDispatch';
  const k = assertCount(fn, 'shape.k', shape.k);
  const dim = assertCount(fn, 'shape.dim', shape.dim, 1, 16);
  const maxMovers = assertCount(fn, 'options.maxMovers', options.maxMovers ?? defaultMaxMovers, 1, 256);
  if (buffers.chunks.length > boundsState.maxChunks) {
    throw new RangeError(`${fn}: at most ${boundsState.maxChunks} chunks of points (got ${buffers.chunks.length})`);
  }
  const { workgroupSize: scanSize, pointsPerInvocation, pointsPerWorkgroup } = resolveKmeansAssignOptions(fn, dim, options.assign ?? {});
  const scanStorage = scanSize * (Math.ceil(dim / 4) * 16 + 4) + 4;
  if (scanStorage > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `${fn}: a tile of ${scanSize} centroids of dim ${dim} needs ${scanStorage} bytes of workgroup memory, above the device's maxComputeWorkgroupStorageSize of ${device.limits.maxComputeWorkgroupStorageSize}`,
    );
  }

  const owned: Destroyable[] = [];
  const steps: KernelDispatch[] = [];
  const storage = (name: string, bytes: number) => {
    const buffer = createStorageBuffer(device, `${label}/${name}`, bytes);
    owned.push(buffer);
    return buffer;
  };
  const uniform = (fields: Parameters<typeof packParams>[0]) => {
    const buffer = createUniformBuffer(device, label, packParams(fields));
    owned.push(buffer);
    return buffer;
  };
  try {
    const previous = storage('previous', k * dim * 4);
    const drift = storage('drift', k * 4);
    const state = storage('state', boundsState.words * 4);
    const movers = storage('movers', maxMovers * (dim + 1) * 4);
    const kParams = uniform([['u32', k]]);

    const driftPipeline = await getComputePipeline(device, { label: `${label}/drift`, code: kmeansDriftWgsl, constants: { workgroupSize, dim } });
    steps.push(new ComputeStep(device, `${label}/drift`, driftPipeline, [buffers.centroids, previous, drift, state, kParams], flatGrid(fn, device, Math.ceil(k / workgroupSize))));
    const moversPipeline = await getComputePipeline(device, { label: `${label}/movers`, code: kmeansMoversWgsl, constants: { dim, maxMovers } });
    steps.push(new ComputeStep(device, `${label}/movers`, moversPipeline, [buffers.centroids, drift, state, movers, kParams], [1, 1, 1]));

    const filterPipeline = await getComputePipeline(device, { label: `${label}/filter`, code: kmeansFilterWgsl, constants: { workgroupSize, dim, maxMovers } });
    const scanPipeline = await getComputePipeline(device, { label: `${label}/scan`, code: kmeansScanWgsl, constants: { workgroupSize: scanSize, pointsPerInvocation, dim } });
    const scans: KernelDispatch[] = [];
    buffers.chunks.forEach((chunk, index) => {
      const count = assertCount(fn, `chunks[${index}].count`, chunk.count);
      const bounds = storage(`bounds-${index}`, count * 8);
      const list = storage(`list-${index}`, count * 4);
      const filterParams = uniform([['u32', count], ['u32', index]]);
      steps.push(
        new ComputeStep(
          device,
          `${label}/filter`,
          filterPipeline,
          [chunk.points, chunk.assignments, bounds, drift, movers, state, list, buffers.centroids, filterParams],
          flatGrid(fn, device, Math.ceil(count / workgroupSize)),
        ),
      );
      const scanParams = uniform([['u32', k], ['u32', index]]);
      scans.push(
        new ComputeStep(
          device,
          `${label}/scan`,
          scanPipeline,
          [chunk.points, buffers.centroids, chunk.assignments, buffers.stats, bounds, list, state, scanParams],
          flatGrid(fn, device, Math.ceil(count / pointsPerWorkgroup)),
        ),
      );
    });
    steps.push(...scans);
    const sequence = new DispatchSequence(label, steps, owned);
    return { label, state, encode: (pass) => sequence.encode(pass), destroy: () => sequence.destroy() };
  } catch (error) {
    for (const buffer of owned) buffer.destroy();
    throw error;
  }
}
