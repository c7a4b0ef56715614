/**
 * The weight a block's codebooks reconstruct for fixed indices, in the quantizer's `[cols, rows]` layout: for every
 * column a of the block and output row o = r·v + j (o < rows), `q[qOffset + a·ldq + o] = x[main·v + j] + x[res·v + j]`
 * where (main, res) are the slots of vector r of column a (res = 0xffffffff: none). x holds every codebook of the
 * block as one slot-major table (each part's main entries, then its residual entries). One invocation per element;
 * the sum is one f32 addition, so the result is the f32 rounding of the CPU's f64 sum.
 *
 * 0 x       [unknowns, vectorLength] f32             read
 * 1 slots   [vectorRows, width, 2] u32 (main, res)   read
 * 2 q       f32, element (a, o) at qOffset + a·ldq + o   read_write
 * 3 params  Params                                    uniform
 */
export const refitReconstructWgsl = /* wgsl */ `
const workgroupSize = 256u;
const noSlot = 0xffffffffu;

struct Params {
  rows: u32,
  width: u32,
  vectorLength: u32,
  ldq: u32,
  qOffset: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> slots: array<u32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let element = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  if (element >= params.width * params.rows) {
    return;
  }
  let column = element / params.rows;
  let row = element % params.rows;
  let vectorRow = row / params.vectorLength;
  let j = row % params.vectorLength;
  let pair = (vectorRow * params.width + column) * 2u;
  let mainSlot = slots[pair];
  let residual = slots[pair + 1u];
  var value = x[mainSlot * params.vectorLength + j];
  if (residual != noSlot) {
    value += x[residual * params.vectorLength + j];
  }
  q[params.qOffset + column * params.ldq + row] = value;
}
`;
