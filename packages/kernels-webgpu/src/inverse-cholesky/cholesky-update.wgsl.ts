/**
 * Step 3 of a block of the Cholesky factorization of B = JAJ (see `choleskyDiagonalWgsl`): the trailing
 * update B[r, c] −= Σ_p L[r, s+p]·L[c, s+p] over the lower triangle r ≥ c ≥ s + b (SYRK). Workgroups of
 * 16 × 16 invocations own a 64 × 64 tile (4 × 4 per invocation, as the GEMM kernel), staging 16-deep slices of
 * the two panels in workgroup memory; the grid is square and workgroups above the diagonal return at once.
 * Each sum runs over p in order, in f32, so results are the same bytes on every run.
 *
 * 0 matrix  [n, n] f32 A read backwards as B; reads block column s:s+b, updates the trailing lower triangle   read_write
 * 1 params  Params                                                                                            uniform
 */
export const choleskyUpdateWgsl = /* wgsl */ `
const tile = 64u;
const depth = 16u;
// One padding column keeps the transposed stores of the tile loads off a single memory bank.
const pitch = 65u;

struct Params {
  size: u32,
  last: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read_write> matrix: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

var<workgroup> rowPanel: array<f32, 1040>;
var<workgroup> columnPanel: array<f32, 1040>;

fn element(row: u32, column: u32) -> u32 {
  return params.last - (row * params.size + column);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  if (workgroup.x > workgroup.y) {
    return;
  }
  let start = params.blockStart;
  let count = params.blockSize;
  let rowBase = start + count + workgroup.y * tile;
  let columnBase = start + count + workgroup.x * tile;
  let columnLane = local % 16u;
  let rowLane = local / 16u;
  var sums: array<array<f32, 4>, 4>;

  for (var p0 = 0u; p0 < count; p0 += depth) {
    for (var i = 0u; i < 4u; i++) {
      let slotDepth = local + i * 256u;
      let slot = slotDepth / depth;
      let p = p0 + slotDepth % depth;
      let row = rowBase + slot;
      let column = columnBase + slot;
      var rowValue = 0.0;
      if (row < params.size && p < count) {
        rowValue = matrix[element(row, start + p)];
      }
      rowPanel[(slotDepth % depth) * pitch + slot] = rowValue;
      var columnValue = 0.0;
      if (column < params.size && p < count) {
        columnValue = matrix[element(column, start + p)];
      }
      columnPanel[(slotDepth % depth) * pitch + slot] = columnValue;
    }
    workgroupBarrier();
    for (var p = 0u; p < depth; p++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = rowPanel[p * pitch + rowLane * 4u + i];
        b[i] = columnPanel[p * pitch + columnLane * 4u + i];
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
      // Only the lower triangle of B is ever read; leave the rest of A untouched.
      if (row < params.size && column <= row) {
        let index = element(row, column);
        matrix[index] = matrix[index] - sums[i][j];
      }
    }
  }
}
`;
