// Element-wise kernels over `[n, n]` f32 matrices that stay on the device between the quantizer's stages (the
// Hessian's preparation, the column loop's factors, the refit's weight). One invocation per entry; workgroups
// flattened as `id.x + id.y·nx`. n ≤ 65535, so n² − 1 fits in u32.

const flatIndex = /* wgsl */ `
fn flatIndex(workgroup: vec3u, grid: vec3u, local: u32) -> u32 {
  return (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
}
`;

/**
 * The prepared Hessian from the raw E[xxᵀ] (original column order): entry (p, q) = raw[perm p, perm q]·scale
 * off the diagonal, 0 in the row and column of a dead column, and `diagonal[p]` on the diagonal (computed on the
 * host in f64, so that the diagonal is the host path's, rounded once).
 *
 * 0 source       [n, n] f32          read
 * 1 order        [n] u32             read   perm[p], or 0xffffffff for a dead column
 * 2 diagonal     [n] f32             read
 * 3 destination  [n, n] f32          read_write
 * 4 params       Params              uniform
 */
export const permuteHessianWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  size: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> source: array<f32>;
@group(0) @binding(1) var<storage, read> order: array<u32>;
@group(0) @binding(2) var<storage, read> diagonal: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
${flatIndex}
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let n = params.size;
  let index = flatIndex(workgroup, grid, local);
  if (index >= n * n) {
    return;
  }
  let p = index / n;
  let q = index - p * n;
  if (p == q) {
    destination[index] = diagonal[p];
    return;
  }
  let row = order[p];
  let column = order[q];
  if (row == 0xffffffffu || column == 0xffffffffu) {
    destination[index] = 0.0;
    return;
  }
  destination[index] = source[row * n + column] * params.scale;
}
`;

/**
 * Scales a matrix by a diagonal D (`[n]` f32). Mode 0 (both sides): D·M·D, entry (a, b) = (d_a·m_ab)·d_b, the
 * refit's weight D·H·D. Mode 1 (factors): the column loop's U·D⁻¹ with d_c/U_cc on the diagonal, U_cj/d_j right
 * of it and zeros below (U upper triangular).
 *
 * 0 source       [n, n] f32          read
 * 1 scale        [n] f32             read
 * 2 destination  [n, n] f32          read_write
 * 3 params       Params              uniform
 */
export const scaleMatrixWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  size: u32,
  mode: u32,
}

@group(0) @binding(0) var<storage, read> source: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
${flatIndex}
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let n = params.size;
  let index = flatIndex(workgroup, grid, local);
  if (index >= n * n) {
    return;
  }
  let a = index / n;
  let b = index - a * n;
  if (params.mode == 0u) {
    destination[index] = scale[a] * source[index] * scale[b];
  } else if (b < a) {
    destination[index] = 0.0;
  } else if (b == a) {
    destination[index] = scale[a] / source[index];
  } else {
    destination[index] = source[index] / scale[b];
  }
}
`;

/**
 * The lowest index whose f32 value is NaN or ±Infinity (exponent bits all ones), by an atomic minimum into
 * `result` (0xffffffff on entry, left as it is when every value is finite).
 *
 * 0 values   [count] u32 (f32 bits)  read
 * 1 result   atomic<u32>             read_write
 * 2 params   Params                  uniform
 */
export const firstNonFiniteWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> values: array<u32>;
@group(0) @binding(1) var<storage, read_write> result: atomic<u32>;
@group(0) @binding(2) var<uniform> params: Params;
${flatIndex}
@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = flatIndex(workgroup, grid, local);
  if (index >= params.count) {
    return;
  }
  if ((values[index] & 0x7f800000u) == 0x7f800000u) {
    atomicMin(&result, index);
  }
}
`;
