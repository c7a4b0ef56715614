/**
 * Step 2 of a block of the triangular inverse X = L⁻¹ (see `inverseRowsWgsl`): pushes the solved block row
 * into the rows below, X[r, c] −= Σ_p L[r, s+p]·X[s+p, c] for r ≥ s + b, c < s + b (a rank-b GEMM update).
 * Workgroups of 16 × 16 invocations own a 64 × 64 tile of X (4 × 4 per invocation), staging 16-deep slices of
 * L's block column and X's block row in workgroup memory; each sum runs over p in order, in f32.
 *
 * 0 lower    [n, n] f32 L of B = JAJ, stored backwards   read
 * 1 inverse  [n, n] f32 X stored backwards             read_write
 * 2 params   Params                                     uniform
 */
export const inverseUpdateWgsl = /* wgsl */ `
const tile = 64u;
const depth = 16u;
const pitch = 65u;

struct Params {
  size: u32,
  last: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read> lower: array<f32>;
@group(0) @binding(1) var<storage, read_write> inverse: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> rowPanel: array<f32, 1040>;
var<workgroup> solvedRows: array<f32, 1040>;

fn element(row: u32, column: u32) -> u32 {
  return params.last - (row * params.size + column);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let start = params.blockStart;
  let count = params.blockSize;
  let end = start + count;
  let rowBase = end + workgroup.y * tile;
  let columnBase = workgroup.x * tile;
  let columnLane = local % 16u;
  let rowLane = local / 16u;
  var sums: array<array<f32, 4>, 4>;

  for (var p0 = 0u; p0 < count; p0 += depth) {
    for (var i = 0u; i < 4u; i++) {
      let flat = local + i * 256u;
      // L's block column: consecutive invocations read consecutive p of one row.
      let slot = flat / depth;
      let p = p0 + flat % depth;
      let row = rowBase + slot;
      var rowValue = 0.0;
      if (row < params.size && p < count) {
        rowValue = lower[element(row, start + p)];
      }
      rowPanel[(flat % depth) * pitch + slot] = rowValue;
      // X's block row: consecutive invocations read consecutive columns of one row.
      let column = columnBase + flat % tile;
      let q = p0 + flat / tile;
      var solvedValue = 0.0;
      if (column < end && q < count) {
        solvedValue = inverse[element(start + q, column)];
      }
      solvedRows[(flat / tile) * pitch + flat % tile] = solvedValue;
    }
    workgroupBarrier();
    for (var p = 0u; p < depth; p++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = rowPanel[p * pitch + rowLane * 4u + i];
        b[i] = solvedRows[p * pitch + columnLane * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          sums[i][j] += a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let row = rowBase + rowLane * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let column = columnBase + columnLane * 4u + j;
      if (row < params.size && column < end) {
        let index = element(row, column);
        inverse[index] = inverse[index] - sums[i][j];
      }
    }
  }
}
`;
