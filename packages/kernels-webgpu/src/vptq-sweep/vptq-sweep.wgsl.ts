import { columnOutputWgsl } from '../vptq-column/column-output.wgsl';

/**
 * The VPTQ column loop over a range of columns in one dispatch (spec §3; the same arithmetic as `vptqColumnWgsl`,
 * so the same indices and bytes). GPTQ's error feedback only mixes values of one row, so the vector-rows of a
 * column are independent chains: workgroup x owns vector-rows [x·P, x·P + P) (rows [x·P·v, (x+1)·P·v)) and walks
 * columns `columnStart … columnEnd − 1` of one lazy-update block by itself, with no other workgroup to wait for.
 * The per-column kernel needs two dependent dispatches per column (about 50 µs each on an H100, nearly all launch
 * and drain latency for 2.8 M distances); here a column costs one scan of the codebook and a few barriers.
 *
 * Per column, the P points (v values of the working column each) are read into registers by every invocation;
 * invocation l scans entries l, l + workgroupSize, … of the codebook straight from the storage buffer (the table
 * the whole dispatch reads, so it stays in L1/L2: no staging, no barriers in the scan) and keeps its best entry per
 * point; the bests are merged per point by two atomic minima in workgroup memory (the distance's bits, then the
 * lowest index at that distance: distances are ≥ 0, so their bits order like the floats), after a subgroup
 * minimum where the device has subgroups. The residual search does the same on what the main entry leaves. Then
 * `columnOutputWgsl`, the code the column kernel's finalize step runs, writes every row's quantized value, scaled
 * error and outputs and pushes the error into the block's later columns of the workgroup's own rows.
 *
 * 0 codebooks    [entries, vectorWords] vec4f   read        every part's main entries, then its residual entries
 * 1 factors      [cols, cols] f32               read        row c: d_c/U_cc on the diagonal, U_cj/d_j right of it
 * 2 working      [cols, rows] f32               read_write  the error-compensated weight
 * 3 outputs      [cols, rows] f32, then [cols, rows] f32   read_write  quantized, then (`keepResidual`) residual
 * 4 blockErrors  [blockSize, rows] f32          read_write  scaled errors of the block's columns
 * 5 indices      u32                            read_write  main indices, residual indices, non-finite flags
 * 6 params       Params                         uniform
 */
const sweepBody = /* wgsl */ `
override vectorLength: u32 = 8;
override points: u32 = 4;
override workgroupSize: u32 = 256;
override useResidual: bool = false;
override keepResidual: bool = false;
override vectorWords: u32 = (vectorLength + 3u) / 4u;
override rowSlots: u32 = points * vectorLength;
const maxPoints = 16u;
const maxWords = 2u;
const farAway = 0x1.fffffep+127f;
const noEntry = 0xffffffffu;

struct Params {
  rows: u32,
  cols: u32,
  columnStart: u32,
  columnEnd: u32,
  blockStart: u32,
  blockEnd: u32,
  vectorRows: u32,
  numCentroids: u32,
  codebookOffset: u32,
  numResidualCentroids: u32,
  residualCodebookOffset: u32,
  partSize: u32,
  partStart: u32,
  indexOffset: u32,
  residualIndexOffset: u32,
  flagOffset: u32,
  residualOutputOffset: u32,
}

@group(0) @binding(0) var<storage, read> codebooks: array<vec4f>;
@group(0) @binding(1) var<storage, read> factors: array<f32>;
@group(0) @binding(2) var<storage, read_write> working: array<f32>;
@group(0) @binding(3) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(4) var<storage, read_write> blockErrors: array<f32>;
@group(0) @binding(5) var<storage, read_write> indices: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

// The current column's values of the workgroup's rows.
var<workgroup> current: array<f32, rowSlots>;
var<workgroup> errors: array<f32, rowSlots>;
var<workgroup> nearestDistance: array<atomic<u32>, points>;
var<workgroup> nearestIndex: array<atomic<u32>, points>;
var<workgroup> chosen: array<u32, points>;
var<workgroup> chosenResidual: array<u32, points>;
var<workgroup> sawNonFinite: atomic<u32>;

// Every point's best of the count entries at vec4 word offset, over all invocations, into chosen (or
// chosenResidual): each invocation scans its own entries in ascending order keeping the first of equal distances,
// then the lexicographic minimum of (distance, index) is taken across the workgroup. Called by the whole workgroup.
fn search(point: ptr<function, array<vec4f, 32>>, offset: u32, count: u32, local: u32, residual: bool) {
  var bestDistance: array<f32, maxPoints>;
  var bestIndex: array<u32, maxPoints>;
  for (var p = 0u; p < points; p++) {
    bestDistance[p] = farAway;
    bestIndex[p] = noEntry;
  }
  for (var entry = local; entry < count; entry += workgroupSize) {
    let base = offset + entry * vectorWords;
    let first = codebooks[base];
    var second = vec4f();
    if (vectorWords > 1u) {
      second = codebooks[base + 1u];
    }
    for (var p = 0u; p < points; p++) {
      let low = (*point)[p * vectorWords] - first;
      var sum = 0.0;
      sum += dot(low, low);
      if (vectorWords > 1u) {
        let high = (*point)[p * vectorWords + 1u] - second;
        sum += dot(high, high);
      }
      if (sum < bestDistance[p]) {
        bestDistance[p] = sum;
        bestIndex[p] = entry;
      }
    }
  }
  // Two atomic minima per point: the nearest distance's bits, then the lowest index among the invocations at it.
  for (var p = 0u; p < points; p++) {
    minimumDistance(p, bitcast<u32>(bestDistance[p]));
  }
  workgroupBarrier();
  for (var p = 0u; p < points; p++) {
    let nearest = atomicLoad(&nearestDistance[p]);
    minimumIndex(p, select(noEntry, bestIndex[p], bitcast<u32>(bestDistance[p]) == nearest));
  }
  workgroupBarrier();
  if (local < points) {
    // A NaN point is nearest to nothing; keep its index in range (the pass fails through its non-finite flag).
    let index = min(atomicLoad(&nearestIndex[local]), count - 1u);
    if (residual) {
      chosenResidual[local] = index;
    } else {
      chosen[local] = index;
    }
    atomicStore(&nearestDistance[local], noEntry);
    atomicStore(&nearestIndex[local], noEntry);
  }
  workgroupBarrier();
}

@compute @workgroup_size(workgroupSize)
fn sweep(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let firstRow = workgroup.x * rowSlots;
  let firstVectorRow = workgroup.x * points;
  let rows = params.rows;
  let withResidual = useResidual && params.numResidualCentroids > 0u;
  if (local < points) {
    atomicStore(&nearestDistance[local], noEntry);
    atomicStore(&nearestIndex[local], noEntry);
  }
  for (var c = params.columnStart; c < params.columnEnd; c++) {
    let columnBase = c * rows;
    // The P points of column c, zero past the last row (the reference's padding).
    for (var e = local; e < rowSlots; e += workgroupSize) {
      let row = firstRow + e;
      current[e] = select(0.0, working[columnBase + row], row < rows);
    }
    workgroupBarrier();
    var point: array<vec4f, 32>;
    for (var p = 0u; p < points; p++) {
      for (var word = 0u; word < vectorWords; word++) {
        var value = vec4f();
        for (var lane = 0u; lane < 4u; lane++) {
          let t = word * 4u + lane;
          if (t < vectorLength) {
            value[lane] = current[p * vectorLength + t];
          }
        }
        point[p * vectorWords + word] = value;
      }
    }
    search(&point, params.codebookOffset, params.numCentroids, local, false);
    if (withResidual) {
      var remainder: array<vec4f, 32>;
      for (var p = 0u; p < points; p++) {
        let base = params.codebookOffset + chosen[p] * vectorWords;
        for (var word = 0u; word < vectorWords; word++) {
          remainder[p * vectorWords + word] = point[p * vectorWords + word] - codebooks[base + word];
        }
      }
      search(&remainder, params.residualCodebookOffset, params.numResidualCentroids, local, true);
    }

    if (local < points) {
      let vectorRow = firstVectorRow + local;
      if (vectorRow < params.vectorRows) {
        let entry = vectorRow * params.partSize + (c - params.partStart);
        indices[params.indexOffset + entry] = chosen[local];
        if (withResidual) {
          indices[params.residualIndexOffset + entry] = chosenResidual[local];
        }
      }
    }
    let errorScale = factors[c * params.cols + c];
    for (var e = local; e < rowSlots; e += workgroupSize) {
      let row = firstRow + e;
      if (row < rows) {
        finishRow(c, row, e, current[e], errorScale, withResidual);
      }
    }
    workgroupBarrier();
    flagNonFinite(workgroup.x, c, local);
    // The next column's points are read after the barrier below.
    feedBack(c, firstRow, rowSlots, local);
    storageBarrier();
    workgroupBarrier();
  }
}
`;

const plainMinima = /* wgsl */ `
fn minimumDistance(p: u32, bits: u32) {
  atomicMin(&nearestDistance[p], bits);
}
fn minimumIndex(p: u32, index: u32) {
  atomicMin(&nearestIndex[p], index);
}
`;

// A subgroup minimum first, so that one invocation per subgroup touches the workgroup's atomics.
const subgroupMinima = /* wgsl */ `
fn minimumDistance(p: u32, bits: u32) {
  let nearest = subgroupMin(bits);
  if (subgroupElect()) {
    atomicMin(&nearestDistance[p], nearest);
  }
}
fn minimumIndex(p: u32, index: u32) {
  let lowest = subgroupMin(index);
  if (subgroupElect()) {
    atomicMin(&nearestIndex[p], lowest);
  }
}
`;

/** The sweep with workgroup atomics only. */
export const vptqSweepWgsl = sweepBody + columnOutputWgsl + plainMinima;
/** The sweep with a subgroup minimum before the atomics (needs the `subgroups` feature). */
export const vptqSweepSubgroupsWgsl = 'enable subgroups;\n' + sweepBody + columnOutputWgsl + subgroupMinima;
