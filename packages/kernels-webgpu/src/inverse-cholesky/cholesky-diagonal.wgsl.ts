/**
 * Step 1 of a block of the Cholesky factorization B = L·Lᵀ of the reversed matrix B = JAJ (J reverses the
 * order; element (i, j) of B is element n−1−i, n−1−j of A, i.e. the flat array read backwards): factors the
 * diagonal block B[s:s+b, s:s+b] in place, unblocked (right-looking, in workgroup memory), one invocation per
 * row. The first pivot that is not positive is recorded in `status` with its position in A (the trailing
 * block of A from there on is not positive definite) and replaced by 1 so the remaining arithmetic stays
 * finite; the host then throws.
 *
 * 0 matrix  [n, n] f32 A, read backwards as B; lower triangle of B (= upper of A) read and written   read_write
 * 1 status  [2] u32: first failed position in A (0xffffffff while none), f32 bits of its pivot        read_write
 * 2 params  Params                                                                                   uniform
 */
export const choleskyDiagonalWgsl = /* wgsl */ `
const none = 0xffffffffu;

struct Params {
  size: u32,
  last: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read_write> matrix: array<f32>;
@group(0) @binding(1) var<storage, read_write> status: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// The block's lower triangle, row-packed: 8320 bytes, under WebGPU's default 16 KiB of workgroup memory.
var<workgroup> block: array<f32, 2080>;

fn element(row: u32, column: u32) -> u32 {
  return params.last - (row * params.size + column);
}

fn packed(row: u32, column: u32) -> u32 {
  return row * (row + 1u) / 2u + column;
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) row: u32) {
  let start = params.blockStart;
  let count = params.blockSize;
  if (row < count) {
    for (var column = 0u; column <= row; column++) {
      block[packed(row, column)] = matrix[element(start + row, start + column)];
    }
  }
  workgroupBarrier();
  for (var j = 0u; j < count; j++) {
    if (row == 0u) {
      var pivot = block[packed(j, j)];
      if (!(pivot > 0.0)) {
        if (status[0] == none) {
          status[0] = params.size - 1u - (start + j);
          status[1] = bitcast<u32>(pivot);
        }
        pivot = 1.0;
      }
      block[packed(j, j)] = sqrt(pivot);
    }
    workgroupBarrier();
    if (row > j && row < count) {
      block[packed(row, j)] = block[packed(row, j)] / block[packed(j, j)];
    }
    workgroupBarrier();
    if (row > j && row < count) {
      let factor = block[packed(row, j)];
      for (var column = j + 1u; column <= row; column++) {
        block[packed(row, column)] -= factor * block[packed(column, j)];
      }
    }
    workgroupBarrier();
  }
  if (row < count) {
    for (var column = 0u; column <= row; column++) {
      matrix[element(start + row, start + column)] = block[packed(row, column)];
    }
  }
}
`;
