import { sharedMemoryReduceWgsl, subgroupReduceWgsl, subgroupsDirective } from '../wgsl-reduce';

/**
 * Dense matrix-vector product for decode, `y[t, rowStart + r] = Σ_c x[t, c] · W[r, c] + bias[rowStart + r]`
 * for one row window of W and `tokenCount` (≤ 8) tokens. One workgroup per row: invocations stride over
 * 16-byte weight vectors (4 f32, or 8 f16 as packed u32 pairs decoded with `unpack2x16float`, so no
 * `shader-f16` is needed), accumulate in f32 and reduce across the workgroup.
 *
 * 0 x        [tokenCount, xStride] f32              read
 * 1 weights  [rows, rowStride] f32 or f16 as vec4<u32>  read (one window)
 * 2 bias     [outFeatures] f32 (placeholder if none) read
 * 3 y        [tokenCount, yStride] f32              read_write
 * 4 params   Params                                 uniform
 */
const gemvBody = /* wgsl */ `
override workgroupSize: u32 = 256;
override tokenCount: u32 = 1;
override f16Weights: bool = false;
override hasBias: bool = false;
override sumCount: u32 = tokenCount;

struct Params {
  rows: u32,
  cols: u32,
  vectorsPerRow: u32,
  rowStart: u32,
  xStride: u32,
  yStride: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<vec4u>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<private> sums: array<f32, maxSums>;

fn xAt(token: u32, column: u32) -> f32 {
  // Rows are zero-padded past cols; x is not, so columns past the end must read as 0 rather than the
  // next token's values.
  return select(0.0, x[token * params.xStride + column], column < params.cols);
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
  lanes: Lanes,
) {
  let row = workgroup.x + workgroup.y * grid.x;
  if (row >= params.rows) {
    return;
  }
  for (var t = 0u; t < tokenCount; t++) {
    sums[t] = 0.0;
  }
  let rowBase = row * params.vectorsPerRow;
  for (var v = local; v < params.vectorsPerRow; v += workgroupSize) {
    let packed = weights[rowBase + v];
    if (f16Weights) {
      let c = v * 8u;
      let w01 = unpack2x16float(packed.x);
      let w23 = unpack2x16float(packed.y);
      let w45 = unpack2x16float(packed.z);
      let w67 = unpack2x16float(packed.w);
      for (var t = 0u; t < tokenCount; t++) {
        var partial = w01.x * xAt(t, c) + w01.y * xAt(t, c + 1u);
        partial += w23.x * xAt(t, c + 2u) + w23.y * xAt(t, c + 3u);
        partial += w45.x * xAt(t, c + 4u) + w45.y * xAt(t, c + 5u);
        partial += w67.x * xAt(t, c + 6u) + w67.y * xAt(t, c + 7u);
        sums[t] += partial;
      }
    } else {
      let c = v * 4u;
      let w = bitcast<vec4f>(packed);
      for (var t = 0u; t < tokenCount; t++) {
        sums[t] += dot(w, vec4f(xAt(t, c), xAt(t, c + 1u), xAt(t, c + 2u), xAt(t, c + 3u)));
      }
    }
  }
  reduceSums(local, lanes);
  if (local < tokenCount) {
    let output = params.rowStart + row;
    var value = reducedSum(local);
    if (hasBias) {
      value += bias[output];
    }
    y[local * params.yStride + output] = value;
  }
}
`;

/** GEMV with a shared-memory reduction (no optional feature needed). */
export const gemvWgsl = gemvBody + sharedMemoryReduceWgsl;

/** GEMV with a subgroup reduction (needs the `subgroups` feature). */
export const gemvSubgroupsWgsl = subgroupsDirective + gemvBody + subgroupReduceWgsl;
