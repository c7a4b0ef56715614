/**
 * Dense matrix-matrix product for prefill, `y[t, rowStart + r] = Σ_c x[t, c] · W[r, c] + bias[rowStart + r]`
 * over one row window of W. Workgroups of 16 × 16 invocations compute 64 tokens × 64 rows, each invocation
 * a 4 × 4 block, staging 16-column slices of x and W in workgroup memory. W is f32, or f16 bit patterns
 * read as u32 pairs with `unpack2x16float` (no `shader-f16` needed). Sums are f32.
 *
 * 0 x        [tokens, xStride] f32                     read
 * 1 weights  [rows, rowStride] f32 or f16 pairs as u32   read (one window)
 * 2 bias     [outFeatures] f32 (placeholder if none)     read
 * 3 y        [tokens, yStride] f32                     read_write
 * 4 params   Params                                    uniform
 */
export const gemmWgsl = /* wgsl */ `
override f16Weights: bool = false;
override hasBias: bool = false;

const tile = 64u;
const depth = 16u;
// One padding column keeps the transposed stores of the tile loads off a single memory bank.
const pitch = 65u;

struct Params {
  tokens: u32,
  rows: u32,
  cols: u32,
  rowStride: u32,
  rowStart: u32,
  xStride: u32,
  yStride: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> xTile: array<f32, 1040>;
var<workgroup> wTile: array<f32, 1040>;

fn weightAt(row: u32, column: u32) -> f32 {
  let element = row * params.rowStride + column;
  if (f16Weights) {
    return unpack2x16float(weights[element >> 1u])[element & 1u];
  }
  return bitcast<f32>(weights[element]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let rowBase = workgroup.x * tile;
  let tokenBase = workgroup.y * tile;
  let columnLane = local % 16u;
  let rowLane = local / 16u;
  var sums: array<array<f32, 4>, 4>;

  for (var k0 = 0u; k0 < params.cols; k0 += depth) {
    for (var i = 0u; i < 4u; i++) {
      let element = local + i * 256u;
      let slot = element / depth;
      let k = k0 + element % depth;
      let token = tokenBase + slot;
      let row = rowBase + slot;
      var xValue = 0.0;
      if (token < params.tokens && k < params.cols) {
        xValue = x[token * params.xStride + k];
      }
      xTile[(element % depth) * pitch + slot] = xValue;
      var wValue = 0.0;
      if (row < params.rows && k < params.cols) {
        wValue = weightAt(row, k);
      }
      wTile[(element % depth) * pitch + slot] = wValue;
    }
    workgroupBarrier();
    for (var k = 0u; k < depth; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xTile[k * pitch + rowLane * 4u + i];
        b[i] = wTile[k * pitch + columnLane * 4u + i];
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
    let token = tokenBase + rowLane * 4u + i;
    if (token >= params.tokens) {
      continue;
    }
    for (var j = 0u; j < 4u; j++) {
      let row = rowBase + columnLane * 4u + j;
      if (row < params.rows) {
        let output = params.rowStart + row;
        var value = sums[i][j];
        if (hasBias) {
          value += bias[output];
        }
        y[token * params.yStride + output] = value;
      }
    }
  }
}
`;
