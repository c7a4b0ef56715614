/**
 * A weight `[rows, cols]` f32 (row-major, as stored) into the column loop's layout: transposed, columns in `perm`
 * order, `out[p·rows + r] = weight[r·cols + perm[p]]`. One invocation per output element, consecutive invocations
 * along a row of the output (coalesced writes; the reads gather a column, which the caches absorb: each source
 * cache line serves the neighbouring positions of the same rows as they come). Pure data movement, so the result is
 * bit for bit `toWorkingLayout(weight, perm, noneDead, undefined)` of @vptq/codebook.
 *
 * 0 weight  [rows, cols] f32   read
 * 1 perm    [cols] u32         read
 * 2 out     [cols, rows] f32   read_write
 * 3 params  Params             uniform
 */
export const permuteTransposeWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(num_workgroups) grid: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (i >= params.rows * params.cols) {
    return;
  }
  let position = i / params.rows;
  let row = i - position * params.rows;
  out[i] = weight[row * params.cols + perm[position]];
}
`;
