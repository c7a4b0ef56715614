/**
 * Sums a `[width, rows]` product Y by codebook slot: for every slot k of a block and codebook column j,
 * `gathered[k·v + j] = Σ_{(r, a) ∈ L_k, r·v + j < rows} Y[yOffset + a·ldy + r·v + j] + ridge_j·p[k·v + j]`, where L_k lists
 * the vectors (r, a) whose main or residual slot is k. With Y = (T − fixed)·H̃ this is the refit's right-hand side
 * Aᵀ·H̃·(T − fixed); with Y = A·p·H̃ it is the normal matrix's product M·p, matrix-free. Rows of the zero-padded last
 * vector (o ≥ rows) are skipped, which is exactly what makes the codebook columns j ≥ filled see one vector row less.
 * ridge_j is `ridgeFull` for j < filled, else `ridgeCut`.
 *
 * Two stages, so that a long list (a residual entry is used by thousands of vectors) is not one invocation's loop:
 * `segments` splits every list into runs of at most 32 entries (segment s covers entries
 * [segments[s], segments[s + 1])). Stage 0: one invocation per segment sums its entries in list order into
 * `partials`. Stage 1: one invocation per slot sums its segments (`slotSegments[k]` … `slotSegments[k + 1]`) in
 * order and adds the ridge term. Every sum has a fixed order, so the same inputs give the same bits.
 *
 * 0 y             f32                                   read
 * 1 entries       [Σ|L_k|] u32: r·width + a, by slot     read
 * 2 segments      [segmentCount + 1] u32                 read
 * 3 slotSegments  [unknowns + 1] u32                     read
 * 4 p             [unknowns, vectorLength] f32           read
 * 5 partials      [segmentCount, vectorLength] f32       read_write
 * 6 gathered      [unknowns, vectorLength] f32           read_write
 * 7 params        Params                                 uniform
 */
export const refitGatherWgsl = /* wgsl */ `
override stage: u32 = 0u;

const workgroupSize = 256u;
const maxVectorLength = 16u;

struct Params {
  unknowns: u32,
  segmentCount: u32,
  vectorLength: u32,
  rows: u32,
  width: u32,
  ldy: u32,
  yOffset: u32,
  filled: u32,
  ridgeFull: f32,
  ridgeCut: f32,
}

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> entries: array<u32>;
@group(0) @binding(2) var<storage, read> segments: array<u32>;
@group(0) @binding(3) var<storage, read> slotSegments: array<u32>;
@group(0) @binding(4) var<storage, read> p: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> gathered: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;

fn sumSegment(segment: u32) {
  let v = params.vectorLength;
  var acc = array<f32, maxVectorLength>();
  for (var e = segments[segment]; e < segments[segment + 1u]; e++) {
    let entry = entries[e];
    let vectorRow = entry / params.width;
    let column = entry % params.width;
    let firstRow = vectorRow * v;
    let base = params.yOffset + column * params.ldy + firstRow;
    let real = min(v, params.rows - firstRow);
    for (var j = 0u; j < real; j++) {
      acc[j] += y[base + j];
    }
  }
  for (var j = 0u; j < v; j++) {
    partials[segment * v + j] = acc[j];
  }
}

fn sumSlot(slot: u32) {
  let v = params.vectorLength;
  var acc = array<f32, maxVectorLength>();
  for (var s = slotSegments[slot]; s < slotSegments[slot + 1u]; s++) {
    for (var j = 0u; j < v; j++) {
      acc[j] += partials[s * v + j];
    }
  }
  for (var j = 0u; j < v; j++) {
    let ridge = select(params.ridgeCut, params.ridgeFull, j < params.filled);
    gathered[slot * v + j] = acc[j] + ridge * p[slot * v + j];
  }
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (stage == 0u) {
    if (index < params.segmentCount) {
      sumSegment(index);
    }
  } else if (index < params.unknowns) {
    sumSlot(index);
  }
}
`;
