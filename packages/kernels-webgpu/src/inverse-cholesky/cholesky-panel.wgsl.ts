/**
 * Step 2 of a block of the Cholesky factorization of B = JAJ (see `choleskyDiagonalWgsl`): the rows below
 * the factored diagonal block, L[r, s:s+b] = B[r, s:s+b]·L[s:s+b, s:s+b]⁻ᵀ, by forward substitution (not by
 * an explicit inverse of the block, which would lose accuracy on ill-conditioned blocks), one invocation per
 * row r ≥ s + b, 64 rows per workgroup.
 *
 * 0 matrix  [n, n] f32 A read backwards as B; the block column s:s+b below the diagonal   read_write
 * 1 params  Params                                                                       uniform
 */
export const choleskyPanelWgsl = /* wgsl */ `
const maxBlock = 64u;

struct Params {
  size: u32,
  last: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read_write> matrix: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

var<workgroup> block: array<f32, 2080>;

fn element(row: u32, column: u32) -> u32 {
  return params.last - (row * params.size + column);
}

fn packed(row: u32, column: u32) -> u32 {
  return row * (row + 1u) / 2u + column;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let start = params.blockStart;
  let count = params.blockSize;
  if (local < count) {
    for (var column = 0u; column <= local; column++) {
      block[packed(local, column)] = matrix[element(start + local, start + column)];
    }
  }
  workgroupBarrier();
  let row = start + count + workgroup.x * 64u + local;
  if (row >= params.size) {
    return;
  }
  var solved: array<f32, maxBlock>;
  for (var j = 0u; j < count; j++) {
    var sum = matrix[element(row, start + j)];
    for (var m = 0u; m < j; m++) {
      sum -= solved[m] * block[packed(j, m)];
    }
    solved[j] = sum / block[packed(j, j)];
    matrix[element(row, start + j)] = solved[j];
  }
}
`;
