/** WGSL type and fold (sum of the entry's words) of one table entry of 4, 8 or 16 bytes. */
const entryTypes = {
  4: { type: 'u32', fold: 'entry' },
  8: { type: 'vec2u', fold: 'entry.x + entry.y' },
  16: { type: 'vec4u', fold: 'entry.x + entry.y + entry.z + entry.w' },
} as const;

/** Entry sizes the gather probe measures, in bytes. */
export type GatherProbeEntryBytes = keyof typeof entryTypes;

/**
 * The codebook-lookup probe (issue 10): every invocation of a persistent grid reads 32-bit index words
 * (two 16-bit indices each, `& mask`) coalesced, the way the fused VQ-GEMV streams its fields, and sums the
 * words of the table entries they select. The table is read from the storage buffer (`workgroupTable` off,
 * through the caches) or from workgroup memory, staged once per workgroup with `replicas` copies of every
 * entry side by side: invocation i reads copy `i % replicas`, so with 128 / entryBytes replicas the lanes
 * of one shared-memory wavefront (8 lanes of 16 bytes, 16 of 8, 32 of 4) always hit distinct banks (the
 * AQLM 2×8 kernel's layout). `lookupsPerIndex` > 1 looks up `index ^ (r · 40503)` for r = 0, 1, … as well,
 * so that the index stream stops being the limit and the lookup rate itself shows.
 *
 * The only `${}` is the entry type (u32, vec2u or vec4u) and how its words are summed; sizes are overrides.
 *
 * 0 indices  [indexWords] u32, two 16-bit indices per word           read
 * 1 table    [entries] entry (u32, vec2u or vec4u)                   read
 * 2 sums     [workgroups · workgroupSize] u32, wrapping sums          read_write
 * 3 params   Params                                                   uniform
 */
export function gatherProbeWgsl(entryBytes: GatherProbeEntryBytes): string {
  const entry = entryTypes[entryBytes];
  return /* wgsl */ `
alias Entry = ${entry.type};

override workgroupSize: u32 = 256;
override workgroupTable: bool = false;
override replicas: u32 = 1;
override lookupsPerIndex: u32 = 1;
// Entries × replicas when the table is staged, else 1 (the array is then unused).
override stagedEntries: u32 = 1;

struct Params {
  indexWords: u32,
  mask: u32,
  entries: u32,
  unused: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<Entry>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> staged: array<Entry, stagedEntries>;

fn fold(entry: Entry) -> u32 {
  return ${entry.fold};
}

fn lookup(index: u32, copy: u32) -> u32 {
  if (workgroupTable) {
    return fold(staged[index * replicas + copy]);
  }
  return fold(table[index]);
}

// The lookups of one index word: both 16-bit halves, each with its lookupsPerIndex derived indices.
fn lookupWord(word: u32, copy: u32) -> u32 {
  var sum = 0u;
  for (var r = 0u; r < lookupsPerIndex; r++) {
    let twist = r * 40503u;
    sum += lookup(((word & 0xffffu) ^ twist) & params.mask, copy);
    sum += lookup(((word >> 16u) ^ twist) & params.mask, copy);
  }
  return sum;
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  if (workgroupTable) {
    // Staged once per workgroup, then used for the whole sweep (the persistent shape).
    for (var i = local; i < params.entries * replicas; i += workgroupSize) {
      staged[i] = table[i / replicas];
    }
    workgroupBarrier();
  }
  let copy = local % replicas;
  let invocation = workgroup.x * workgroupSize + local;
  let stride = grid.x * workgroupSize;
  var sum = 0u;
  // Four coalesced index loads in flight before their lookups, as the VQ-GEMV keeps about 8 fields in flight.
  for (var w = invocation; w < params.indexWords; w += 4u * stride) {
    var words = vec4u(0u);
    var valid = vec4<bool>(false);
    for (var u = 0u; u < 4u; u++) {
      let at = w + u * stride;
      if (at < params.indexWords) {
        words[u] = indices[at];
        valid[u] = true;
      }
    }
    for (var u = 0u; u < 4u; u++) {
      if (valid[u]) {
        sum += lookupWord(words[u], copy);
      }
    }
  }
  sums[invocation] = sum;
}
`;
}
