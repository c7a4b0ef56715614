import { releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { benchmarkGatherProbe, conflictFreeReplicas, gatherProbeCases, runGatherProbe } from './gather-probe';
import { gatherProbeCpu } from './gather-probe-cpu';
import type { GatherProbeProblem } from './gather-probe-cpu';
import type { GatherProbeEntryBytes } from './gather-probe.wgsl';

const device = await requestTestDevice();

function problem(entryBytes: GatherProbeEntryBytes, entries: number, lookupsPerIndex: number, indexWords: number, seed: number): GatherProbeProblem {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const indices = Uint32Array.from({ length: indexWords }, next);
  const table = Uint32Array.from({ length: (entries * entryBytes) / 4 }, next);
  return { indices, table, entryBytes, entries, lookupsPerIndex };
}

describe('gatherProbeCases', () => {
  it('stages a table only where it fits, with the most replicas up to the conflict-free count', () => {
    const cases = gatherProbeCases({ entryBytes: [16], entries: [256, 4096], lookupsPerIndex: [1] }, 49152);
    expect(cases).toEqual([
      { table: 'storage', entryBytes: 16, entries: 256, replicas: 1, lookupsPerIndex: 1 },
      { table: 'workgroup', entryBytes: 16, entries: 256, replicas: 1, lookupsPerIndex: 1 },
      { table: 'workgroup', entryBytes: 16, entries: 256, replicas: 8, lookupsPerIndex: 1 },
      { table: 'storage', entryBytes: 16, entries: 4096, replicas: 1, lookupsPerIndex: 1 },
    ]);
    expect(conflictFreeReplicas(4)).toBe(32);
    // 4096 × 8 B = 32 KiB fits 48 KiB once, not twice.
    expect(gatherProbeCases({ entryBytes: [8], entries: [4096], lookupsPerIndex: [1] }, 49152).map((c) => `${c.table}${c.replicas}`)).toEqual(['storage1', 'workgroup1']);
  });
});

describe.skipIf(!device)('gather probe', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  const cases: [GatherProbeEntryBytes, number, number, 'storage' | 'workgroup', number][] = [
    [4, 256, 1, 'workgroup', 32],
    [8, 1024, 2, 'workgroup', 4],
    [16, 256, 1, 'workgroup', 8],
    [16, 512, 3, 'workgroup', 1],
    [16, 65536, 1, 'storage', 1],
    [4, 16384, 4, 'storage', 1],
  ];
  for (const [entryBytes, entries, lookupsPerIndex, table, replicas] of cases) {
    it(`sums the same lookups as the CPU twin: ${entryBytes}-byte entries, ${entries} entries, ${table} ×${replicas}, ${lookupsPerIndex} per index`, async () => {
      // An index count that is not a multiple of the grid, so some invocations do one word fewer.
      const source = problem(entryBytes, entries, lookupsPerIndex, 3 * 4 * 64 + 37, entries + entryBytes);
      const launch = { workgroups: 3, workgroupSize: 64 };
      const onGpu = await runGatherProbe(gpu, source, table, replicas, launch);
      expect(onGpu).toEqual(gatherProbeCpu(source, 3 * 64));
    });
  }

  it('benchmarks a few cases with timings and derived rates', async () => {
    const rows = await benchmarkGatherProbe(gpu, { entryBytes: [16], entries: [256], lookupsPerIndex: [1], indexWords: 4096, workgroups: 4, workgroupSize: 64, iterations: 2, repeats: 1, warmUpMilliseconds: 0 });
    expect(rows.map((row) => `${row.table}${row.replicas}`)).toEqual(['storage1', 'workgroup1', `workgroup${Math.min(8, gpu.limits.maxComputeWorkgroupStorageSize / 4096)}`]);
    for (const row of rows) {
      expect(row.microseconds).toBeGreaterThan(0);
      expect(row.lookups).toBe(8192);
      expect(row.gigaLookupsPerSecond).toBeCloseTo(8192 / row.microseconds / 1e3, 9);
      expect(row.f16EquivalentGbPerSecond).toBeCloseTo(16 * row.gigaLookupsPerSecond, 9);
    }
  });
});
