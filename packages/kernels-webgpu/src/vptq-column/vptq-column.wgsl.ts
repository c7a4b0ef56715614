import { columnOutputWgsl } from './column-output.wgsl';

/**
 * One column of the VPTQ column loop (spec §3, the CPU twin is `@vptq/codebook`'s loop): every vector-row of
 * column `column` (v consecutive output rows, zero-padded past the last row) gets its Euclidean-nearest main entry
 * (f32 distances, ties to the lower index), then greedily the residual entry nearest to what is left; the
 * column's quantized values, indices, residual and scaled error `(w − q)·d_c/U_cc` are written, and the error is
 * pushed into the later columns of the block (`W[:, c+1:end] −= e·U'[c, c+1:end]`, U' = U·D⁻¹). The lazy update
 * of the columns after the block is `gemm-tn`'s.
 *
 * Workgroups hold `pointsPerWorkgroup` (P) vector-rows; invocation `local` serves point `local % P` as search lane
 * `local / P` of S = workgroupSize / P lanes. The codebook is staged `tileEntries` entries at a time in workgroup
 * memory; each lane scans every S-th entry of a tile for its point (held in registers) and keeps its best; the
 * lanes' bests are merged per point. Entry (distance, index) pairs are compared lexicographically, a total order,
 * so the merged minimum is the lowest index among equal distances whatever the merge order: the result does not
 * depend on how the search is split (lanes, K slices). Two entry points:
 *
 * - `search`: workgroup (x, y) scans slice y (`sliceEntries` entries) of the main codebook for its points and
 *   writes the best per point to `partials` (used when K is split over several workgroups for parallelism).
 * - `finalize`: the main index (`fusedSearch`: scans the whole main codebook itself; else merges the slices'
 *   partials), the residual search (`useResidual`), the outputs and the in-block update of its own rows.
 *
 * Entries are stored zero-padded to `vectorWords` vec4 (v = 6 → 8 floats); the point's padding is zero too, so
 * the padding adds nothing to a distance.
 *
 * 0 codebooks    [entries, vectorWords] vec4f   read        every part's main entries, then its residual entries
 * 1 factors      [cols, cols] f32               read        row c: d_c/U_cc on the diagonal, U_cj/d_j right of it
 * 2 partials     [searchSlices, vectorRows] vec2u  read_write  (distance bits, index): each K slice's best
 * 3 working      [cols, rows] f32               read_write  the error-compensated weight
 * 4 outputs      [cols, rows] f32, then [cols, rows] f32   read_write  quantized, then (`keepResidual`) residual
 * 5 blockErrors  [blockSize, rows] f32          read_write  scaled errors of the block's columns
 * 6 indices      u32                            read_write  main indices, residual indices, non-finite flags
 * 7 params       Params                         uniform
 */
export const vptqColumnWgsl = /* wgsl */ `
override vectorLength: u32 = 8;
override pointsPerWorkgroup: u32 = 16;
override workgroupSize: u32 = 256;
override tileEntries: u32 = 256;
override fusedSearch: bool = true;
override useResidual: bool = false;
override keepResidual: bool = false;
override vectorWords: u32 = (vectorLength + 3u) / 4u;
override searchLanes: u32 = workgroupSize / pointsPerWorkgroup;
override tileWords: u32 = tileEntries * vectorWords;
override errorSlots: u32 = pointsPerWorkgroup * vectorLength;
const maxWords = 4u;
const farAway = 0x1.fffffep+127f;
const noEntry = 0xffffffffu;

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
  sliceEntries: u32,
  searchSlices: u32,
}

struct Best {
  distance: f32,
  index: u32,
}

@group(0) @binding(0) var<storage, read> codebooks: array<vec4f>;
@group(0) @binding(1) var<storage, read> factors: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> working: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(5) var<storage, read_write> blockErrors: array<f32>;
@group(0) @binding(6) var<storage, read_write> indices: array<u32>;
@group(0) @binding(7) var<uniform> params: Params;

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

// Vector-row vectorRow of the current column: v values, zero past the last row (the reference's padding).
fn loadPoint(vectorRow: u32) -> array<vec4f, maxWords> {
  // Explicitly zero (see gemm-tn: lavapipe did not re-zero a declaration without initializer in a loop).
  var point = array<vec4f, maxWords>(vec4f(), vec4f(), vec4f(), vec4f());
  if (vectorRow < params.vectorRows) {
    let base = params.column * params.rows;
    for (var t = 0u; t < vectorLength; t++) {
      let row = vectorRow * vectorLength + t;
      if (row < params.rows) {
        point[t / 4u][t % 4u] = working[base + row];
      }
    }
  }
  return point;
}

// This lane's best of entries [first, end) of the codebook that starts at vec4 word offset, for point.
// Each lane visits its entries in ascending order and keeps the first of equal distances. Called by the whole
// workgroup (it has barriers) with workgroup-uniform offset, first and end.
fn scan(point: array<vec4f, maxWords>, offset: u32, first: u32, end: u32, local: u32, lane: u32) -> Best {
  var own = point;
  var best = Best(farAway, noEntry);
  for (var tileStart = first; tileStart < end; tileStart += tileEntries) {
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

@compute @workgroup_size(workgroupSize)
fn search(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let lane = local / pointsPerWorkgroup;
  let vectorRow = workgroup.x * pointsPerWorkgroup + local % pointsPerWorkgroup;
  let first = workgroup.y * params.sliceEntries;
  let end = min(first + params.sliceEntries, params.numCentroids);
  let best = mergeLanes(scan(loadPoint(vectorRow), params.codebookOffset, first, end, local, lane), local, lane);
  if (lane == 0u && vectorRow < params.vectorRows) {
    partials[workgroup.y * params.vectorRows + vectorRow] = vec2u(bitcast<u32>(best.distance), best.index);
  }
}

@compute @workgroup_size(workgroupSize)
fn finalize(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let slot = local % pointsPerWorkgroup;
  let lane = local / pointsPerWorkgroup;
  let vectorRow = workgroup.x * pointsPerWorkgroup + slot;
  let valid = vectorRow < params.vectorRows;
  let point = loadPoint(vectorRow);

  var nearest = Best(farAway, noEntry);
  if (fusedSearch) {
    nearest = mergeLanes(scan(point, params.codebookOffset, 0u, params.numCentroids, local, lane), local, lane);
  } else if (valid) {
    for (var slice = 0u; slice < params.searchSlices; slice++) {
      let candidate = partials[slice * params.vectorRows + vectorRow];
      if (isBetter(bitcast<f32>(candidate.x), candidate.y, nearest)) {
        nearest = Best(bitcast<f32>(candidate.x), candidate.y);
      }
    }
  }
  // A NaN point is nearest to nothing; keep its index in range (the pass fails through its non-finite flag).
  let mainIndex = min(nearest.index, params.numCentroids - 1u);
  var residualIndex = 0u;
  let withResidual = useResidual && params.numResidualCentroids > 0u;
  if (withResidual) {
    var remainder = point;
    let base = params.codebookOffset + mainIndex * vectorWords;
    for (var word = 0u; word < vectorWords; word++) {
      remainder[word] = point[word] - codebooks[base + word];
    }
    let extra = mergeLanes(scan(remainder, params.residualCodebookOffset, 0u, params.numResidualCentroids, local, lane), local, lane);
    residualIndex = min(extra.index, params.numResidualCentroids - 1u);
  }
  if (lane == 0u) {
    chosen[slot] = mainIndex;
    chosenResidual[slot] = residualIndex;
    if (valid) {
      let entry = vectorRow * params.partSize + params.localColumn;
      indices[params.indexOffset + entry] = mainIndex;
      if (withResidual) {
        indices[params.residualIndexOffset + entry] = residualIndex;
      }
    }
  }
  workgroupBarrier();

  // The workgroup's rows are contiguous: point s holds rows firstRow + s·v .. + v.
  let column = params.column;
  let firstRow = workgroup.x * errorSlots;
  let errorScale = factors[column * params.cols + column];
  for (var e = local; e < errorSlots; e += workgroupSize) {
    let row = firstRow + e;
    if (row < params.rows) {
      finishRow(column, row, e, working[column * params.rows + row], errorScale, withResidual);
    }
  }
  workgroupBarrier();
  flagNonFinite(workgroup.x, column, local);
  feedBack(column, firstRow, errorSlots, local);
}
` + columnOutputWgsl;
