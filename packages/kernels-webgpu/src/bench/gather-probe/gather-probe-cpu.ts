import type { GatherProbeEntryBytes } from './gather-probe.wgsl';

/** What the gather probe computes, independent of where the table lives. */
export interface GatherProbeProblem {
  /** `[indexWords]` u32, two 16-bit indices per word (low half first). */
  readonly indices: Uint32Array;
  /** `[entries, entryBytes / 4]` u32 words. */
  readonly table: Uint32Array;
  readonly entryBytes: GatherProbeEntryBytes;
  /** Table entries, a power of two ≤ 65536 (indices are taken `& (entries − 1)`). */
  readonly entries: number;
  /** Lookups per 16-bit index (index, then index ^ 40503, index ^ 81006, …). */
  readonly lookupsPerIndex: number;
}

/**
 * CPU twin of the gather probe: the wrapping u32 sum of the words of every entry that invocation g of
 * `invocations` looks up (index words g, g + invocations, …). Where the table lives does not change it.
 *
 * @returns `[invocations]` u32.
 */
export function gatherProbeCpu(problem: GatherProbeProblem, invocations: number): Uint32Array {
  const { indices, table, entries, lookupsPerIndex } = problem;
  const words = problem.entryBytes / 4;
  const mask = entries - 1;
  const sums = new Uint32Array(invocations);
  const fold = (index: number) => {
    let sum = 0;
    for (let w = 0; w < words; w++) sum += table[index * words + w];
    return sum;
  };
  for (let g = 0; g < invocations; g++) {
    let sum = 0;
    for (let at = g; at < indices.length; at += invocations) {
      const word = indices[at];
      for (let r = 0; r < lookupsPerIndex; r++) {
        const twist = (r * 40503) >>> 0;
        sum = (sum + fold(((word & 0xffff) ^ twist) & mask) + fold(((word >>> 16) ^ twist) & mask)) >>> 0;
      }
    }
    sums[g] = sum >>> 0;
  }
  return sums;
}
