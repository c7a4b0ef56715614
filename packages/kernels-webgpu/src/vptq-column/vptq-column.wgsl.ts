/**
 * The VPTQ column loop (spec §3, the CPU twin is `@vptq/codebook`'s loop) as one persistent sweep: every vector-row
 * (v consecutive output rows, zero-padded past the last row) of every column in `range` gets its Euclidean-nearest
 * main entry (f32 distances, ties to the lower index), then greedily the residual entry nearest to what is left; the
 * column's quantized values, indices, residual and scaled error `(w − q)·d_c/U_cc` are written, the error is pushed
 * into the later columns of the block (`W[:, c+1:end] −= e·U'[c, c+1:end]`, U' = U·D⁻¹), and at the end of each block
 * the block's errors update every later column (`W[:, end:] −= E·U'[start:end, end:]`, GPTQ's lazy batch update).
 *
 * Why one sweep: the error feedback of a row reaches only that row, so the vector-rows are independent chains. A
 * workgroup owns P vector-rows (`pointsPerWorkgroup`, the same rows in every column) and walks the columns itself,
 * with nothing to wait for but its own barriers; a design with a dispatch per column step spent ~25 µs of dispatch
 * latency per step (8192 dispatches, 216 ms for a 4096 × 4096 pass on an H100) on ~2 µs of arithmetic.
 *
 * Invocation `local` serves point `local % P` as search lane `local / P` of S = workgroupSize / P lanes. The codebook
 * streams through workgroup memory `tileEntries` entries at a time; each lane scans every S-th entry of a tile for
 * its point (held in registers) and keeps its best; the lanes' bests are merged per point. Entry (distance, index)
 * pairs are compared lexicographically, a total order, so the merged minimum is the lowest index among equal
 * distances whatever the merge order. Sums run in a fixed order (the lazy update in 16-deep slabs of fused
 * multiply-adds, the slabs added with Kahan compensation, as `gemm-tn`), so a pass gives the same bytes every time.
 *
 * One dispatch covers columns whose parts share v (the row mapping depends on v): an outlier part of another
 * vector length gets its own dispatches, and WebGPU orders storage writes between dispatches, so a block may span
 * two. Entries are stored zero-padded to `vectorWords` vec4 (v = 6 → 8 floats); the point's padding is zero too,
 * so the padding adds nothing to a distance.
 *
 * 0 codebooks    [entries, vectorWords] vec4f   read        every part's main entries, then its residual entries
 * 1 factors      [cols, cols] f32               read        row c: d_c/U_cc on the diagonal, U_cj/d_j right of it
 * 2 columns      [cols] Params                  read        each column's record (see `planVptqPass`)
 * 3 working      [cols, rows] f32               read_write  the error-compensated weight
 * 4 outputs      [cols, rows] f32, then [cols, rows] f32   read_write  quantized, then (`keepResidual`) residual
 * 5 blockErrors  [blockSize, rows] f32          read_write  scaled errors of the block's columns
 * 6 indices      u32                            read_write  main indices, residual indices, non-finite flags
 * 7 range        Range                          uniform     the columns [first, last) of this dispatch
 */
export const vptqColumnWgsl = /* wgsl */ `
override vectorLength: u32 = 8;
override pointsPerWorkgroup: u32 = 16;
override workgroupSize: u32 = 256;
override tileEntries: u32 = 256;
override useResidual: bool = false;
override keepResidual: bool = false;
override vectorWords: u32 = (vectorLength + 3u) / 4u;
override searchLanes: u32 = workgroupSize / pointsPerWorkgroup;
override tileWords: u32 = tileEntries * vectorWords;
override errorSlots: u32 = pointsPerWorkgroup * vectorLength;
const maxWords = 4u;
const farAway = 0x1.fffffep+127f;
const noEntry = 0xffffffffu;
const slab = 16u;

struct Params {
  rows: u32,
  cols: u32,
  column: u32,
  blockStart: u32,
  blockEnd: u32,
  vectorRows: u32,
  numCentroids: u32,
  codebookOffset: u32,
  numResidualCentroids: u32,
  residualCodebookOffset: u32,
  partSize: u32,
  localColumn: u32,
  indexOffset: u32,
  residualIndexOffset: u32,
  flagOffset: u32,
  residualOutputOffset: u32,
}

struct Range {
  first: u32,
  last: u32,
}

struct Best {
  distance: f32,
  index: u32,
}

@group(0) @binding(0) var<storage, read> codebooks: array<vec4f>;
@group(0) @binding(1) var<storage, read> factors: array<f32>;
@group(0) @binding(2) var<storage, read> columns: array<Params>;
@group(0) @binding(3) var<storage, read_write> working: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(5) var<storage, read_write> blockErrors: array<f32>;
@group(0) @binding(6) var<storage, read_write> indices: array<u32>;
@group(0) @binding(7) var<uniform> range: Range;

var<workgroup> tile: array<vec4f, tileWords>;
var<workgroup> laneDistance: array<f32, workgroupSize>;
var<workgroup> laneIndex: array<u32, workgroupSize>;
var<workgroup> chosen: array<u32, pointsPerWorkgroup>;
var<workgroup> chosenResidual: array<u32, pointsPerWorkgroup>;
var<workgroup> errors: array<f32, errorSlots>;
var<workgroup> sawNonFinite: atomic<u32>;

fn isBetter(distance: f32, index: u32, than: Best) -> bool {
  return distance < than.distance || (distance == than.distance && index < than.index);
}

// NaN and ±infinity have all exponent bits set; read the bits, since a compiler may assume floats are finite.
fn isNonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7f800000u) == 0x7f800000u;
}

// Vector-row vectorRow of column p.column: v values, zero past the last row (the reference's padding).
fn loadPoint(p: Params, vectorRow: u32) -> array<vec4f, maxWords> {
  // Explicitly zero (see gemm-tn: lavapipe did not re-zero a declaration without initializer in a loop).
  var point = array<vec4f, maxWords>(vec4f(), vec4f(), vec4f(), vec4f());
  if (vectorRow < p.vectorRows) {
    let base = p.column * p.rows;
    for (var t = 0u; t < vectorLength; t++) {
      let row = vectorRow * vectorLength + t;
      if (row < p.rows) {
        point[t / 4u][t % 4u] = working[base + row];
      }
    }
  }
  return point;
}

// This lane's best of entries [0, end) of the codebook that starts at vec4 word offset, for point. Each lane
// visits its entries in ascending order and keeps the first of equal distances. Called by the whole workgroup
// (it has barriers) with workgroup-uniform offset and end.
fn scan(point: array<vec4f, maxWords>, offset: u32, end: u32, local: u32, lane: u32) -> Best {
  var own = point;
  var best = Best(farAway, noEntry);
  for (var tileStart = 0u; tileStart < end; tileStart += tileEntries) {
    let count = min(tileEntries, end - tileStart);
    workgroupBarrier();
    for (var word = local; word < count * vectorWords; word += workgroupSize) {
      tile[word] = codebooks[offset + tileStart * vectorWords + word];
    }
    workgroupBarrier();
    for (var entry = lane; entry < count; entry += searchLanes) {
      var sum = 0.0;
      for (var word = 0u; word < vectorWords; word++) {
        let difference = own[word] - tile[entry * vectorWords + word];
        sum += dot(difference, difference);
      }
      if (sum < best.distance) {
        best = Best(sum, tileStart + entry);
      }
    }
  }
  return best;
}

// The workgroup's best per point: the lexicographic minimum over its lanes, returned to every lane of the point.
fn mergeLanes(best: Best, local: u32, lane: u32) -> Best {
  workgroupBarrier();
  laneDistance[local] = best.distance;
  laneIndex[local] = best.index;
  workgroupBarrier();
  for (var stride = searchLanes / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      let other = local + stride * pointsPerWorkgroup;
      if (isBetter(laneDistance[other], laneIndex[other], Best(laneDistance[local], laneIndex[local]))) {
        laneDistance[local] = laneDistance[other];
        laneIndex[local] = laneIndex[other];
      }
    }
    workgroupBarrier();
  }
  let slot = local % pointsPerWorkgroup;
  return Best(laneDistance[slot], laneIndex[slot]);
}

// One column for the workgroup's points: search, outputs, indices, non-finite flag, in-block error feedback.
fn quantizeColumn(p: Params, tileIndex: u32, local: u32) {
  let slot = local % pointsPerWorkgroup;
  let lane = local / pointsPerWorkgroup;
  let vectorRow = tileIndex * pointsPerWorkgroup + slot;
  let valid = vectorRow < p.vectorRows;
  let point = loadPoint(p, vectorRow);

  let nearest = mergeLanes(scan(point, p.codebookOffset, p.numCentroids, local, lane), local, lane);
  // A NaN point is nearest to nothing; keep its index in range (the pass fails through its non-finite flag).
  let mainIndex = min(nearest.index, p.numCentroids - 1u);
  var residualIndex = 0u;
  let withResidual = useResidual && p.numResidualCentroids > 0u;
  if (withResidual) {
    var remainder = point;
    let base = p.codebookOffset + mainIndex * vectorWords;
    for (var word = 0u; word < vectorWords; word++) {
      remainder[word] = point[word] - codebooks[base + word];
    }
    let extra = mergeLanes(scan(remainder, p.residualCodebookOffset, p.numResidualCentroids, local, lane), local, lane);
    residualIndex = min(extra.index, p.numResidualCentroids - 1u);
  }
  if (lane == 0u) {
    chosen[slot] = mainIndex;
    chosenResidual[slot] = residualIndex;
    if (valid) {
      let entry = vectorRow * p.partSize + p.localColumn;
      indices[p.indexOffset + entry] = mainIndex;
      if (withResidual) {
        indices[p.residualIndexOffset + entry] = residualIndex;
      }
    }
  }
  workgroupBarrier();

  // The workgroup's rows are contiguous: point s holds rows firstRow + s·v .. + v.
  let column = p.column;
  let firstRow = tileIndex * errorSlots;
  let columnBase = column * p.rows;
  let errorScale = factors[column * p.cols + column];
  for (var e = local; e < errorSlots; e += workgroupSize) {
    let row = firstRow + e;
    if (row < p.rows) {
      let s = e / vectorLength;
      let t = e % vectorLength;
      var q = codebooks[p.codebookOffset + chosen[s] * vectorWords + t / 4u][t % 4u];
      if (withResidual) {
        q += codebooks[p.residualCodebookOffset + chosenResidual[s] * vectorWords + t / 4u][t % 4u];
      }
      let w = working[columnBase + row];
      let difference = w - q;
      outputs[columnBase + row] = q;
      if (keepResidual) {
        outputs[p.residualOutputOffset + columnBase + row] = difference;
      }
      let error = difference * errorScale;
      errors[e] = error;
      blockErrors[(column - p.blockStart) * p.rows + row] = error;
      if (isNonFinite(w)) {
        atomicOr(&sawNonFinite, 1u);
      }
    }
  }
  workgroupBarrier();
  // One flag per point tile, set at the first column that went non-finite there (the workgroup's own invocation 0
  // writes it and reads it back, so no two invocations race).
  if (local == 0u && atomicLoad(&sawNonFinite) != 0u && indices[p.flagOffset + tileIndex] == 0u) {
    indices[p.flagOffset + tileIndex] = column + 1u;
  }

  // Error feedback into the block's later columns, for this workgroup's rows only.
  let laterCount = p.blockEnd - column - 1u;
  for (var i = local; i < errorSlots * laterCount; i += workgroupSize) {
    let e = i % errorSlots;
    let row = firstRow + e;
    if (row < p.rows) {
      let later = column + 1u + i / errorSlots;
      let index = later * p.rows + row;
      working[index] = fma(-errors[e], factors[column * p.cols + later], working[index]);
    }
  }
}

// U'[c, j .. j+3] (zero past the last column).
fn factorQuad(p: Params, c: u32, j: u32) -> vec4f {
  var value = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (j + q < p.cols) {
      value[q] = factors[c * p.cols + j + q];
    }
  }
  return value;
}

// The lazy update after block [p.blockStart, p.blockEnd) for this workgroup's rows: W[row, j] −= Σ_b E[b, row]·U'[b, j]
// for every later column j, four columns per item; 16-deep slabs of FMAs, slabs added with Kahan compensation.
fn updateLater(p: Params, tileIndex: u32, local: u32) {
  let firstRow = tileIndex * errorSlots;
  let depth = p.blockEnd - p.blockStart;
  let quads = (p.cols - p.blockEnd + 3u) / 4u;
  for (var i = local; i < errorSlots * quads; i += workgroupSize) {
    let e = i % errorSlots;
    let row = firstRow + e;
    if (row < p.rows) {
      let j = p.blockEnd + (i / errorSlots) * 4u;
      var total = vec4f(0.0);
      var compensation = vec4f(0.0);
      for (var b0 = 0u; b0 < depth; b0 += slab) {
        var partial = vec4f(0.0);
        for (var b = b0; b < min(b0 + slab, depth); b++) {
          partial = fma(vec4f(blockErrors[b * p.rows + row]), factorQuad(p, p.blockStart + b, j), partial);
        }
        let y = partial - compensation;
        let t = total + y;
        compensation = (t - total) - y;
        total = t;
      }
      for (var q = 0u; q < 4u; q++) {
        if (j + q < p.cols) {
          let index = (j + q) * p.rows + row;
          working[index] = working[index] - total[q];
        }
      }
    }
  }
}

@compute @workgroup_size(workgroupSize)
fn sweep(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var column = range.first; column < range.last; column++) {
    let p = columns[column];
    quantizeColumn(p, workgroup.x, local);
    // The next column reads what this one's feedback wrote, from other invocations of the workgroup.
    storageBarrier();
    if (column + 1u == p.blockEnd && p.blockEnd < p.cols) {
      updateLater(p, workgroup.x, local);
      storageBarrier();
    }
  }
}
`;
