/**
 * Dense matrix-vector product for decode, `y[t, rowStart + r] = Σ_c x[t, c] · W[r, c] + bias[rowStart + r]`
 * for one row window of W and `tokenCount` (≤ 8) tokens. One workgroup per row, or per 2–8 rows for a single
 * token (`rowsPerWorkgroup`, so each x vector loaded serves several rows): invocations stride over
 * 16-byte weight vectors (4 f32, or 8 f16 as packed u32 pairs decoded with `unpack2x16float`, so no
 * `shader-f16` is needed), accumulate one f32 sum per token (or per row: rows 0–3, 4–7) in two vec4
 * registers (no arrays, so nothing spills to local memory) and reduce across the workgroup. With several
 * rows, `unroll` consecutive strides are taken per iteration so that rowsPerWorkgroup × unroll 16-byte
 * weight loads are in flight per invocation (f16 at 11008×4096 reached only 39% of an H100's copy
 * bandwidth with 4 rows and one stride: 2752 short workgroups, 1.3 waves). x is read as vec4 when its
 * rows are 16-byte aligned and as many columns as W's padded rows (`alignedX`), else element-wise with a
 * bounds check.
 *
 * 0 x        [tokenCount, xStride] f32 (binding size a multiple of 16)  read
 * 1 weights  [rows, rowStride] f32 or f16 as vec4<u32>  read (one window)
 * 2 bias     [outFeatures] f32 (placeholder if none)    read
 * 3 y        [tokenCount, yStride] f32                 read_write
 * 4 params   Params                                    uniform
 */
const gemvBody = /* wgsl */ `
override workgroupSize: u32 = 256;
override tokenCount: u32 = 1;
override f16Weights: bool = false;
override hasBias: bool = false;
override alignedX: bool = false;
override rowsPerWorkgroup: u32 = 1;
override unroll: u32 = 1;

struct Params {
  rows: u32,
  cols: u32,
  vectorsPerRow: u32,
  rowStart: u32,
  xStride: u32,
  yStride: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<vec4u>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<private> sumLow: vec4f;
var<private> sumHigh: vec4f;

fn xElement(token: u32, column: u32) -> f32 {
  let index = token * params.xStride + column;
  // Columns past cols read as 0: W's padding is 0, but x's next row (or the end of the buffer) is not.
  return select(0.0, x[index >> 2u][index & 3u], column < params.cols);
}

fn xQuad(token: u32, column: u32) -> vec4f {
  if (alignedX) {
    return x[(token * params.xStride + column) >> 2u];
  }
  return vec4f(xElement(token, column), xElement(token, column + 1u), xElement(token, column + 2u), xElement(token, column + 3u));
}

fn dotToken(token: u32, column: u32, low: vec4f, high: vec4f) -> f32 {
  if (f16Weights) {
    return dot(low, xQuad(token, column)) + dot(high, xQuad(token, column + 4u));
  }
  return dot(low, xQuad(token, column));
}

fn accumulate(column: u32, low: vec4f, high: vec4f) {
  sumLow.x += dotToken(0u, column, low, high);
  if (tokenCount > 1u) {
    sumLow.y += dotToken(1u, column, low, high);
  }
  if (tokenCount > 2u) {
    sumLow.z += dotToken(2u, column, low, high);
  }
  if (tokenCount > 3u) {
    sumLow.w += dotToken(3u, column, low, high);
  }
  if (tokenCount > 4u) {
    sumHigh.x += dotToken(4u, column, low, high);
  }
  if (tokenCount > 5u) {
    sumHigh.y += dotToken(5u, column, low, high);
  }
  if (tokenCount > 6u) {
    sumHigh.z += dotToken(6u, column, low, high);
  }
  if (tokenCount > 7u) {
    sumHigh.w += dotToken(7u, column, low, high);
  }
}

fn rowDot(row: u32, v: u32, xLow: vec4f, xHigh: vec4f) -> f32 {
  if (row >= params.rows) {
    return 0.0;
  }
  let packed = weights[row * params.vectorsPerRow + v];
  if (f16Weights) {
    return dot(vec4f(unpack2x16float(packed.x), unpack2x16float(packed.y)), xLow) +
      dot(vec4f(unpack2x16float(packed.z), unpack2x16float(packed.w)), xHigh);
  }
  return dot(bitcast<vec4f>(packed), xLow);
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
  lanes: Lanes,
) {
  let firstRow = (workgroup.x + workgroup.y * grid.x) * rowsPerWorkgroup;
  if (firstRow >= params.rows) {
    return;
  }
  let step = workgroupSize * select(1u, unroll, rowsPerWorkgroup > 1u);
  for (var v0 = local; v0 < params.vectorsPerRow; v0 += step) {
    if (rowsPerWorkgroup == 1u) {
      let v = v0;
      let packed = weights[firstRow * params.vectorsPerRow + v];
      if (f16Weights) {
        accumulate(v * 8u, vec4f(unpack2x16float(packed.x), unpack2x16float(packed.y)), vec4f(unpack2x16float(packed.z), unpack2x16float(packed.w)));
      } else {
        accumulate(v * 4u, bitcast<vec4f>(packed), vec4f(0.0));
      }
    } else {
      for (var u = 0u; u < unroll; u++) {
        let v = v0 + u * workgroupSize;
        if (v < params.vectorsPerRow) {
          var column = v * 4u;
          var xHigh = vec4f(0.0);
          if (f16Weights) {
            column = v * 8u;
            xHigh = xQuad(0u, column + 4u);
          }
          let xLow = xQuad(0u, column);
          sumLow.x += rowDot(firstRow, v, xLow, xHigh);
          sumLow.y += rowDot(firstRow + 1u, v, xLow, xHigh);
          if (rowsPerWorkgroup > 2u) {
            sumLow.z += rowDot(firstRow + 2u, v, xLow, xHigh);
            sumLow.w += rowDot(firstRow + 3u, v, xLow, xHigh);
          }
          if (rowsPerWorkgroup > 4u) {
            sumHigh.x += rowDot(firstRow + 4u, v, xLow, xHigh);
            sumHigh.y += rowDot(firstRow + 5u, v, xLow, xHigh);
            sumHigh.z += rowDot(firstRow + 6u, v, xLow, xHigh);
            sumHigh.w += rowDot(firstRow + 7u, v, xLow, xHigh);
          }
        }
      }
    }
  }
  reduceSums(local, lanes);
  if (rowsPerWorkgroup == 1u) {
    if (local < tokenCount) {
      let output = params.rowStart + firstRow;
      var value = reduced[local / 4u][local % 4u];
      if (hasBias) {
        value += bias[output];
      }
      y[local * params.yStride + output] = value;
    }
  } else if (local < rowsPerWorkgroup && firstRow + local < params.rows) {
    let output = params.rowStart + firstRow + local;
    var value = reduced[local / 4u][local % 4u];
    if (hasBias) {
      value += bias[output];
    }
    y[output] = value;
  }
}
`;

const sharedMemoryReduceWgsl = /* wgsl */ `
struct Lanes {
  @builtin(local_invocation_id) unusedLocalId: vec3u,
}

override scratchSize: u32 = 2u * workgroupSize;
var<workgroup> scratch: array<vec4f, scratchSize>;
var<workgroup> reduced: array<vec4f, 2>;

fn reduceSums(local: u32, lanes: Lanes) {
  scratch[local] = sumLow;
  scratch[workgroupSize + local] = sumHigh;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      scratch[local] += scratch[local + stride];
      scratch[workgroupSize + local] += scratch[workgroupSize + local + stride];
    }
    workgroupBarrier();
  }
  if (local < 2u) {
    reduced[local] = scratch[local * workgroupSize];
  }
  workgroupBarrier();
}
`;

const subgroupReduceWgsl = /* wgsl */ `
struct Lanes {
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

// Subgroups have at least 4 invocations, and hold consecutive invocation indices in a 1-D workgroup.
override scratchSize: u32 = max(workgroupSize / 2u, 2u);
var<workgroup> scratch: array<vec4f, scratchSize>;
var<workgroup> reduced: array<vec4f, 2>;

fn reduceSums(local: u32, lanes: Lanes) {
  let subgroup = local / lanes.size;
  let low = subgroupAdd(sumLow);
  var high = vec4f(0.0);
  if (tokenCount > 4u || rowsPerWorkgroup > 4u) {
    high = subgroupAdd(sumHigh);
  }
  if (lanes.lane == 0u) {
    scratch[2u * subgroup] = low;
    scratch[2u * subgroup + 1u] = high;
  }
  workgroupBarrier();
  if (local < 2u) {
    var total = vec4f(0.0);
    let count = (workgroupSize + lanes.size - 1u) / lanes.size;
    for (var s = 0u; s < count; s++) {
      total += scratch[2u * s + local];
    }
    reduced[local] = total;
  }
  workgroupBarrier();
}
`;

/** GEMV with a shared-memory reduction (no optional feature needed). */
export const gemvWgsl = gemvBody + sharedMemoryReduceWgsl;

/** GEMV with a subgroup reduction (needs the `subgroups` feature). */
export const gemvSubgroupsWgsl = 'enable subgroups;\n' + gemvBody + subgroupReduceWgsl;
