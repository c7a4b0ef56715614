/**
 * The normal matrix of the codebook refit, exactly: `M[k1, k2] = Σ_r Σ_{a,b} [k1 ∈ slots(r, a)]·[k2 ∈ slots(r, b)]·H̃[a, b]`
 * over the block's vectors (r, a), (r, b) of one vector row, where slots(r, a) = {main, residual} of vector r of
 * column a. Workgroup (k1, chunk) owns row k1's columns [chunk·chunkColumns, (chunk + 1)·chunkColumns) in
 * workgroup memory; it walks L_k1 (the vectors that use slot k1, in position order) and, for each (r, a), adds row a
 * of H̃ to the columns of the slots of row r. Slots of one row collide (two columns with the same entry), so the adds
 * are atomics: every H̃ value is scaled by a power of two (`scale`, chosen by the host so that every sum stays below
 * 2^62 units) and converted exactly to a 64-bit two's complement integer, added as two u32 words (low, then high
 * with the carry), like `kmeans-reduce`. Integer sums are exact and associative, so the result is the same bits for
 * any order of the atomics: deterministic without float atomics. Each entry is decoded to f32 once (≤ 1.5 ulp) and
 * scaled back.
 *
 * The rows of the zero-padded last vector row (r = cutRow) are missing from the codebook columns j ≥ filled: the
 * lists are sorted by position, so the workgroup first sums the vectors of rows r < cutRow, writes that row of the
 * cut matrix (at `matrixStride`), then adds the last row's vectors and writes the full matrix (at 0). The matrices
 * are written for the inverse Cholesky factorization (which overwrites them), with `choleskyRidge` added on the
 * diagonal and the gauge term w_k1·w_k2 where both slots lie on one null direction g (a part with a residual codebook:
 * +1 on its used main slots, −1 on its used residual slots; w = ±√(mean diagonal / n_g·n_g)). The gauge gives that
 * direction an eigenvalue of the diagonal's size instead of the ridge's, so the f32 factor, used as a preconditioner
 * whose output is projected off the null directions (`refitNullWgsl`), does not amplify rounding noise along it.
 * The slot pairs are packed as u16: main | (residual + 1) << 16 (0: no residual), so unknowns < 65535.
 *
 * 0 hessian       [cols, cols] f32 (H̃; the block is rows and columns start … start + width − 1)   read
 * 1 slotPairs     [vectorRows, width] u32                                                          read
 * 2 listOffsets   [unknowns + 1] u32: L_k = entries[listOffsets[k] … listOffsets[k + 1])           read
 * 3 entries       u32: r·width + a                                                                 read
 * 4 gauge         [3, unknowns] f32: w of the full columns, w of the cut columns, null direction g (−1: none)   read
 * 5 factorInputs  f32: full M at 0, cut M at matrixStride (when cutRow < vectorRows), each plus choleskyRidge·I
 *                 and the gauge terms                                                              read_write
 * 6 params        Params                                                                           uniform
 */
export const refitNormalWgsl = /* wgsl */ `
override chunkCapacity: u32 = 2048u;

const workgroupSize = 256u;

struct Params {
  unknowns: u32,
  width: u32,
  cols: u32,
  start: u32,
  cutRow: u32,
  chunkColumns: u32,
  matrixStride: u32,
  scale: f32,
  inverseScale: f32,
  choleskyRidgeFull: f32,
  choleskyRidgeCut: f32,
}

@group(0) @binding(0) var<storage, read> hessian: array<f32>;
@group(0) @binding(1) var<storage, read> slotPairs: array<u32>;
@group(0) @binding(2) var<storage, read> listOffsets: array<u32>;
@group(0) @binding(3) var<storage, read> entries: array<u32>;
@group(0) @binding(4) var<storage, read> gauge: array<f32>;
@group(0) @binding(5) var<storage, read_write> factorInputs: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

var<workgroup> sums: array<atomic<u32>, 2u * chunkCapacity>;
var<workgroup> bounds: array<u32, 3>;

// |value| < 2^63 and integral above 2^24 (it is an f32): the exact two's complement (low, high) words of
// round(value), as in kmeans-reduce. Every step is exact.
fn toFixed(value: f32) -> vec2u {
  let magnitude = abs(value);
  let high = floor(magnitude * 0x1p-32f);
  var low = u32(round(magnitude - high * 0x1p32f));
  var highWord = u32(high);
  if (value < 0.0) {
    low = ~low + 1u;
    highWord = ~highWord + select(0u, 1u, low == 0u);
  }
  return vec2u(low, highWord);
}

fn add(column: u32, value: vec2u) {
  let old = atomicAdd(&sums[2u * column], value.x);
  let high = value.y + select(0u, 1u, old + value.x < old);
  if (high != 0u) {
    atomicAdd(&sums[2u * column + 1u], high);
  }
}

fn accumulate(first: u32, last: u32, chunkStart: u32, chunkEnd: u32, local: u32) {
  for (var e = first; e < last; e++) {
    let entry = entries[e];
    let vectorRow = entry / params.width;
    let column = entry % params.width;
    let hessianRow = (params.start + column) * params.cols + params.start;
    let slotRow = vectorRow * params.width;
    for (var b = local; b < params.width; b += workgroupSize) {
      let pair = slotPairs[slotRow + b];
      let mainSlot = pair & 0xffffu;
      let residualSlot = (pair >> 16u) - 1u;
      let inMain = mainSlot >= chunkStart && mainSlot < chunkEnd;
      let inResidual = (pair >> 16u) != 0u && residualSlot >= chunkStart && residualSlot < chunkEnd;
      if (inMain || inResidual) {
        let value = toFixed(hessian[hessianRow + b] * params.scale);
        if (inMain) {
          add(mainSlot - chunkStart, value);
        }
        if (inResidual) {
          add(residualSlot - chunkStart, value);
        }
      }
    }
  }
}

// gaugeRow: 0 for the full matrix's weights, 1 for the cut one's.
fn writeRow(row: u32, chunkStart: u32, chunkEnd: u32, offset: u32, ridge: f32, gaugeRow: u32, local: u32) {
  let n = params.unknowns;
  let rowWeight = gauge[gaugeRow * n + row];
  let rowGroup = gauge[2u * n + row];
  for (var c = chunkStart + local; c < chunkEnd; c += workgroupSize) {
    let low = atomicLoad(&sums[2u * (c - chunkStart)]);
    let high = bitcast<i32>(atomicLoad(&sums[2u * (c - chunkStart) + 1u]));
    let value = (f32(high) * 0x1p32f + f32(low)) * params.inverseScale;
    let index = offset + row * n + c;
    var factorInput = select(value, value + ridge, c == row);
    if (rowGroup >= 0.0 && gauge[2u * n + c] == rowGroup) {
      factorInput += rowWeight * gauge[gaugeRow * n + c];
    }
    factorInputs[index] = factorInput;
  }
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let row = workgroup.x;
  let chunkStart = workgroup.y * params.chunkColumns;
  let chunkEnd = min(chunkStart + params.chunkColumns, params.unknowns);
  for (var i = local; i < 2u * params.chunkColumns; i += workgroupSize) {
    atomicStore(&sums[i], 0u);
  }
  if (local == 0u) {
    let first = listOffsets[row];
    let last = listOffsets[row + 1u];
    // The first entry of the cut row: entries are in position order, so a binary search finds it.
    var low = first;
    var high = last;
    while (low < high) {
      let middle = (low + high) / 2u;
      if (entries[middle] / params.width < params.cutRow) {
        low = middle + 1u;
      } else {
        high = middle;
      }
    }
    bounds[0] = first;
    bounds[1] = low;
    bounds[2] = last;
  }
  let first = workgroupUniformLoad(&bounds[0]);
  let cut = workgroupUniformLoad(&bounds[1]);
  let last = workgroupUniformLoad(&bounds[2]);
  accumulate(first, cut, chunkStart, chunkEnd, local);
  if (params.cutRow != 0xffffffffu) {
    workgroupBarrier();
    writeRow(row, chunkStart, chunkEnd, params.matrixStride, params.choleskyRidgeCut, 1u, local);
    workgroupBarrier();
  }
  accumulate(cut, last, chunkStart, chunkEnd, local);
  workgroupBarrier();
  writeRow(row, chunkStart, chunkEnd, 0u, params.choleskyRidgeFull, 0u, local);
}
`;
