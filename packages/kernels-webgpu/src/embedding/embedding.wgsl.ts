/**
 * Embedding lookup: `output[i, c] = table[tokens[i], c]` for the table rows of one window
 * (`rowStart ≤ token < rowStart + rows`); the first window also writes zeros for tokens ≥ vocabulary, so
 * an out-of-range id cannot leave stale values. The table is f32, or f16 bit patterns read as u32 pairs.
 * One invocation per output element; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 tokens  [count] u32                        read
 * 1 table   [rows, rowStride] f32 or f16 pairs  read (one window)
 * 2 output  [count, cols] f32                  read_write
 * 3 params  Params                             uniform
 */
export const embeddingWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override f16Table: bool = false;

struct Params {
  count: u32,
  cols: u32,
  rowStride: u32,
  rowStart: u32,
  rows: u32,
  vocabulary: u32,
  firstWindow: u32,
}

@group(0) @binding(0) var<storage, read> tokens: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (index >= params.count * params.cols) {
    return;
  }
  let token = tokens[index / params.cols];
  let column = index % params.cols;
  if (token >= params.rowStart && token - params.rowStart < params.rows) {
    let element = (token - params.rowStart) * params.rowStride + column;
    if (f16Table) {
      output[index] = unpack2x16float(table[element >> 1u])[element & 1u];
    } else {
      output[index] = bitcast<f32>(table[element]);
    }
  } else if (params.firstWindow != 0u && token >= params.vocabulary) {
    output[index] = 0.0;
  }
}
`;
