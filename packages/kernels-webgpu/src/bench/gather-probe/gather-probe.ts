import { createBufferWithData, createStorageBuffer, createUniformBuffer, packParams, readBuffer } from '../../buffers';
import { ComputeStep, captureGpuErrors, checkWorkgroups, submitDispatches } from '../../dispatch';
import type { KernelDispatch } from '../../dispatch';
import { getComputePipeline } from '../../pipeline-cache';
import { timeDispatches } from '../time-dispatches';
import type { GatherProbeProblem } from './gather-probe-cpu';
import { gatherProbeWgsl } from './gather-probe.wgsl';
import type { GatherProbeEntryBytes } from './gather-probe.wgsl';

/** Where the probe's table lives: the storage buffer (through L1/L2) or workgroup memory staged once per workgroup. */
export type GatherProbeTable = 'storage' | 'workgroup';

/** One probe configuration. */
export interface GatherProbeCase {
  readonly table: GatherProbeTable;
  readonly entryBytes: GatherProbeEntryBytes;
  /** A power of two, 2 … 65536. */
  readonly entries: number;
  /** Copies of each entry in workgroup memory (1 = plain; 128 / entryBytes = conflict-free). Storage: 1. */
  readonly replicas: number;
  /** Lookups per streamed 16-bit index: 1 as in a VQ-GEMV, more to measure the lookup rate alone. */
  readonly lookupsPerIndex: number;
}

/** Launch shape of the probe. */
export interface GatherProbeLaunch {
  /** Persistent workgroups (about a few per SM). */
  readonly workgroups: number;
  /** Invocations per workgroup, a power of two. */
  readonly workgroupSize: number;
}

/** Buffers of {@link createGatherProbeDispatch}. */
export interface GatherProbeBuffers {
  /** `[indexWords]` u32. */
  readonly indices: GPUBuffer;
  readonly indexWords: number;
  /** `[entries]` entries of entryBytes. */
  readonly table: GPUBuffer;
  /** `[workgroups · workgroupSize]` u32 output. */
  readonly sums: GPUBuffer;
}

/**
 * Records the gather probe (`gatherProbeWgsl`): a persistent grid that streams 16-bit indices and sums the
 * table entries they select, from a storage buffer or from workgroup memory (with `replicas` copies).
 *
 * @throws {RangeError} when the case is invalid or a staged table does not fit `maxComputeWorkgroupStorageSize`.
 */
export async function createGatherProbeDispatch(
  device: GPUDevice,
  buffers: GatherProbeBuffers,
  probe: GatherProbeCase,
  launch: GatherProbeLaunch,
): Promise<KernelDispatch> {
  const fn = 'createGatherProbeDispatch';
  const { entries, entryBytes, replicas } = probe;
  if (!Number.isInteger(Math.log2(entries)) || entries < 2 || entries > 65536) throw new RangeError(`${fn}: entries must be a power of two in 2..65536 (got ${entries})`);
  const staged = probe.table === 'workgroup' ? entries * replicas * entryBytes : 0;
  if (staged > device.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(`${fn}: a staged table of ${staged} bytes exceeds maxComputeWorkgroupStorageSize (${device.limits.maxComputeWorkgroupStorageSize})`);
  }
  const pipeline = await getComputePipeline(device, {
    label: `gather-probe/${entryBytes}`,
    code: gatherProbeWgsl(entryBytes),
    constants: {
      workgroupSize: launch.workgroupSize,
      workgroupTable: probe.table === 'workgroup',
      replicas: probe.table === 'workgroup' ? replicas : 1,
      lookupsPerIndex: probe.lookupsPerIndex,
      stagedEntries: probe.table === 'workgroup' ? entries * replicas : 1,
    },
  });
  const params = createUniformBuffer(device, 'gather-probe', packParams([['u32', buffers.indexWords], ['u32', entries - 1], ['u32', entries], ['u32', 0]]));
  const grid = checkWorkgroups(fn, device, launch.workgroups);
  return new ComputeStep(device, 'gather-probe', pipeline, [buffers.indices, buffers.table, buffers.sums, params], grid, [params]);
}

/** Runs the probe once on `problem` and reads the per-invocation sums back (the parity test's path). */
export async function runGatherProbe(
  device: GPUDevice,
  problem: GatherProbeProblem,
  table: GatherProbeTable,
  replicas: number,
  launch: GatherProbeLaunch,
): Promise<Uint32Array> {
  return captureGpuErrors(device, 'gather-probe', async () => {
    const indices = createBufferWithData(device, 'gather-probe/indices', problem.indices);
    const tableBuffer = createBufferWithData(device, 'gather-probe/table', problem.table);
    const invocations = launch.workgroups * launch.workgroupSize;
    const sums = createStorageBuffer(device, 'gather-probe/sums', invocations * 4);
    const probe = { table, entryBytes: problem.entryBytes, entries: problem.entries, replicas, lookupsPerIndex: problem.lookupsPerIndex };
    const dispatch = await createGatherProbeDispatch(device, { indices, indexWords: problem.indices.length, table: tableBuffer, sums }, probe, launch);
    try {
      submitDispatches(device, 'gather-probe', [dispatch]);
      return new Uint32Array(await readBuffer(device, sums, invocations * 4));
    } finally {
      dispatch.destroy();
      for (const buffer of [indices, tableBuffer, sums]) buffer.destroy();
    }
  });
}

/** Options of {@link benchmarkGatherProbe}. */
export interface BenchmarkGatherProbeOptions {
  /** Default 4, 8 and 16. */
  readonly entryBytes?: readonly GatherProbeEntryBytes[];
  /** Default 256, 1024, 4096, 16384, 65536 (workgroup tables only where they fit). */
  readonly entries?: readonly number[];
  /** Default [1, 4]: the VQ-GEMV's ratio, and the lookup rate with the index stream mostly out of the way. */
  readonly lookupsPerIndex?: readonly number[];
  /** 32-bit index words streamed per run (two lookups each). Default 2²⁴ (64 MiB, above an H100's 50 MB L2). */
  readonly indexWords?: number;
  /** Persistent workgroups. Default 528 (4 per SM of an H100's 132). */
  readonly workgroups?: number;
  /** Default 256. */
  readonly workgroupSize?: number;
  /** Runs per measurement. Default 20. */
  readonly iterations?: number;
  /** Measurements; the median is reported. Default 5. */
  readonly repeats?: number;
  /** Default 100 ms per case. */
  readonly warmUpMilliseconds?: number;
  readonly useTimestamps?: boolean;
  readonly onRow?: (row: GatherProbeRow) => void;
}

/** One measured probe configuration. */
export interface GatherProbeRow extends GatherProbeCase {
  /** Lookups per run: indexWords · 2 · lookupsPerIndex. */
  readonly lookups: number;
  readonly microseconds: number;
  /** Lookups per second, in units of 10⁹. */
  readonly gigaLookupsPerSecond: number;
  /** Index bytes streamed per second (GB/s): what a VQ-GEMV with 16-bit fields must read. */
  readonly indexGbPerSecond: number;
  /**
   * lookups · entryBytes per second (GB/s): the f16 weight bytes the lookups stand for when an entry is a vector of
   * f16 weights; compare with the f16 GEMV's bandwidth (a 3× speedup at 80% of a 3 TB/s copy needs 7.2 TB/s).
   */
  readonly f16EquivalentGbPerSecond: number;
}

/** The replica count that makes one shared-memory wavefront conflict-free: 128 bytes / entry bytes. */
export function conflictFreeReplicas(entryBytes: GatherProbeEntryBytes): number {
  return 128 / entryBytes;
}

/**
 * The probe's cases: for each entry size and table size, the storage buffer, then (where the table fits
 * workgroup memory) a plain staged table and the most replicas ≤ {@link conflictFreeReplicas} that fit.
 */
export function gatherProbeCases(options: Pick<BenchmarkGatherProbeOptions, 'entryBytes' | 'entries' | 'lookupsPerIndex'>, workgroupBytes: number): GatherProbeCase[] {
  const cases: GatherProbeCase[] = [];
  for (const lookupsPerIndex of options.lookupsPerIndex ?? [1, 4]) {
    for (const entryBytes of options.entryBytes ?? ([4, 8, 16] as const)) {
      for (const entries of options.entries ?? [256, 1024, 4096, 16384, 65536]) {
        cases.push({ table: 'storage', entryBytes, entries, replicas: 1, lookupsPerIndex });
        if (entries * entryBytes > workgroupBytes) continue;
        cases.push({ table: 'workgroup', entryBytes, entries, replicas: 1, lookupsPerIndex });
        let replicas = 1;
        while (replicas * 2 <= conflictFreeReplicas(entryBytes) && entries * entryBytes * replicas * 2 <= workgroupBytes) replicas *= 2;
        if (replicas > 1) cases.push({ table: 'workgroup', entryBytes, entries, replicas, lookupsPerIndex });
      }
    }
  }
  return cases;
}

/**
 * Measures the codebook-lookup ceiling (issue 10): random 4-, 8- and 16-byte lookups from tables of 256 to
 * 65536 entries in a storage buffer or in workgroup memory (plain or replicated), driven by a coalesced stream
 * of 16-bit indices as in the fused VQ-GEMV. GPU time from timestamp queries; one row per case.
 */
export async function benchmarkGatherProbe(device: GPUDevice, options: BenchmarkGatherProbeOptions = {}): Promise<GatherProbeRow[]> {
  const indexWords = options.indexWords ?? 2 ** 24;
  const launch = { workgroups: options.workgroups ?? 528, workgroupSize: options.workgroupSize ?? 256 };
  const iterations = options.iterations ?? 20;
  const repeats = options.repeats ?? 5;
  const timing = (options.useTimestamps ?? true) && device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
  const cases = gatherProbeCases(options, device.limits.maxComputeWorkgroupStorageSize);
  const words = new Uint32Array(indexWords);
  let state = 12345;
  for (let i = 0; i < indexWords; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    words[i] = state;
  }
  const rows: GatherProbeRow[] = [];
  const indices = createBufferWithData(device, 'gather-probe/indices', words);
  const sums = createStorageBuffer(device, 'gather-probe/sums', launch.workgroups * launch.workgroupSize * 4);
  try {
    for (const probe of cases) {
      await captureGpuErrors(device, 'gather-probe', async () => {
        const tableWords = new Uint32Array((probe.entries * probe.entryBytes) / 4);
        for (let i = 0; i < tableWords.length; i++) tableWords[i] = Math.imul(i + 1, 2654435761) >>> 0;
        const table = createBufferWithData(device, 'gather-probe/table', tableWords);
        const dispatch = await createGatherProbeDispatch(device, { indices, indexWords, table, sums }, probe, launch);
        try {
          const microseconds = await timeDispatches(device, [dispatch], iterations, repeats, timing, options.warmUpMilliseconds ?? 100);
          const lookups = indexWords * 2 * probe.lookupsPerIndex;
          const row: GatherProbeRow = {
            ...probe,
            lookups,
            microseconds,
            gigaLookupsPerSecond: lookups / microseconds / 1e3,
            indexGbPerSecond: (indexWords * 4) / microseconds / 1e3,
            f16EquivalentGbPerSecond: (lookups * probe.entryBytes) / microseconds / 1e3,
          };
          rows.push(row);
          options.onRow?.(row);
        } finally {
          dispatch.destroy();
          table.destroy();
        }
      });
    }
  } finally {
    indices.destroy();
    sums.destroy();
  }
  return rows;
}
