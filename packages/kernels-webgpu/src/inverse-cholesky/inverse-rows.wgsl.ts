/**
 * Step 1 of a block of the triangular inverse X = L⁻¹ (L from the Cholesky kernels, in B = JAJ order), by
 * block forward substitution of L·X = I: block row s:s+b of X becomes L[s:s+b, s:s+b]⁻¹ times itself (which
 * holds I − Σ of the earlier blocks' updates), by forward substitution, one invocation per column c < s + b.
 * X starts as the identity but its buffer starts at zero: the 1 on the diagonal is added here. Stored read
 * backwards, X is U = JXJ, the upper triangular factor with UᵀU = A⁻¹, in A's order.
 *
 * 0 lower    [n, n] f32 L of B = JAJ, stored backwards (the factored `matrix`)   read
 * 1 inverse  [n, n] f32 X stored backwards, zero on entry                       read_write
 * 2 params   Params                                                              uniform
 */
export const inverseRowsWgsl = /* wgsl */ `
const maxBlock = 64u;

struct Params {
  size: u32,
  last: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read> lower: array<f32>;
@group(0) @binding(1) var<storage, read_write> inverse: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

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
      block[packed(local, column)] = lower[element(start + local, start + column)];
    }
  }
  workgroupBarrier();
  let column = workgroup.x * 64u + local;
  if (column >= start + count) {
    return;
  }
  // X is lower triangular: in the block's own columns the rows above the diagonal stay exactly zero.
  var first = 0u;
  if (column > start) {
    first = column - start;
  }
  var solved: array<f32, maxBlock>;
  for (var r = first; r < count; r++) {
    var sum = inverse[element(start + r, column)];
    if (start + r == column) {
      sum += 1.0;
    }
    for (var m = first; m < r; m++) {
      sum -= block[packed(r, m)] * solved[m];
    }
    solved[r] = sum / block[packed(r, r)];
    inverse[element(start + r, column)] = solved[r];
  }
}
`;
