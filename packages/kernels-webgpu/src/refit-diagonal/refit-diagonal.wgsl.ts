/**
 * The diagonal of a refit block's normal matrix, for the Jacobi preconditioner and the ridge: for every slot k,
 * `d[k] = Σ_r Σ_{(r, a), (r, b) ∈ L_k} H̃[a, b]`, the pairs of k's vectors that share a vector row (a run of L_k, which
 * is in position order), over every row (full) and over all rows but `cutRow` (cut). It costs Σ (run length)² reads
 * of H̃: 1.2·10⁸ for 14336 × 4096 at Kr = 256 (runs of about 16 per residual entry and row), seconds in JavaScript.
 *
 * Stage 0: one invocation per segment of at most 32 list entries sums, for each of its entries, H̃ over the entry's
 * whole run (found by scanning L_k around it), into `partials` (full, cut). Stage 1: one invocation per slot adds
 * its segments in order. Fixed orders throughout: the same inputs give the same bits.
 *
 * 0 hessian       [cols, cols] f32                          read
 * 1 entries       u32 r·width + a, list after list          read
 * 2 listOffsets   [unknowns + 1] u32                        read
 * 3 segments      [segmentCount + 1] u32                    read
 * 4 slotSegments  [unknowns + 1] u32                        read
 * 5 partials      [segmentCount, 2] f32                     read_write
 * 6 diagonal      [2, unknowns] f32: full, then cut         read_write
 * 7 params        Params                                    uniform
 */
export const refitDiagonalWgsl = /* wgsl */ `
override stage: u32 = 0u;

const workgroupSize = 256u;

struct Params {
  unknowns: u32,
  segmentCount: u32,
  width: u32,
  cols: u32,
  start: u32,
  cutRow: u32,
}

@group(0) @binding(0) var<storage, read> hessian: array<f32>;
@group(0) @binding(1) var<storage, read> entries: array<u32>;
@group(0) @binding(2) var<storage, read> listOffsets: array<u32>;
@group(0) @binding(3) var<storage, read> segments: array<u32>;
@group(0) @binding(4) var<storage, read> slotSegments: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> diagonal: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

// The slot whose segments include \`segment\`: the last k with slotSegments[k] ≤ segment.
fn slotOf(segment: u32) -> u32 {
  var low = 0u;
  var high = params.unknowns;
  while (high - low > 1u) {
    let middle = (low + high) / 2u;
    if (slotSegments[middle] <= segment) {
      low = middle;
    } else {
      high = middle;
    }
  }
  return low;
}

fn sumSegment(segment: u32) {
  let slot = slotOf(segment);
  let first = listOffsets[slot];
  let end = listOffsets[slot + 1u];
  var full = 0.0;
  var cut = 0.0;
  for (var e = segments[segment]; e < segments[segment + 1u]; e++) {
    let row = entries[e] / params.width;
    let hessianRow = (params.start + entries[e] % params.width) * params.cols + params.start;
    var runStart = e;
    while (runStart > first && entries[runStart - 1u] / params.width == row) {
      runStart--;
    }
    var sum = 0.0;
    for (var other = runStart; other < end; other++) {
      let entry = entries[other];
      if (entry / params.width != row) {
        break;
      }
      sum += hessian[hessianRow + entry % params.width];
    }
    full += sum;
    if (row != params.cutRow) {
      cut += sum;
    }
  }
  partials[2u * segment] = full;
  partials[2u * segment + 1u] = cut;
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (stage == 0u) {
    if (index < params.segmentCount && segments[index] < segments[index + 1u]) {
      sumSegment(index);
    }
  } else if (index < params.unknowns) {
    var full = 0.0;
    var cut = 0.0;
    for (var s = slotSegments[index]; s < slotSegments[index + 1u]; s++) {
      full += partials[2u * s];
      cut += partials[2u * s + 1u];
    }
    diagonal[index] = full;
    diagonal[params.unknowns + index] = cut;
  }
}
`;
