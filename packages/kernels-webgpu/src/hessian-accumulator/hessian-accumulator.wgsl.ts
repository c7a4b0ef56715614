/**
 * Adds Σ xxᵀ and Σ x over whole 64-token blocks of layer inputs into running sums kept as (hi, lo) f32 pairs
 * (double-float, ≈ 48 significant bits), over one window of tile rows of the packed upper triangle.
 *
 * One workgroup of 16 × 16 invocations owns one 64 × 64 tile (tileRow ≤ tileColumn; lower tiles exit), each
 * invocation a 4 × 4 block of it, and walks the dispatch's blocks in token order. Per block it sums its 16
 * products over the 64 tokens in f32 (16-token slices of x staged in workgroup memory; the γ₆₄ error bound holds
 * in whatever order the compiler adds them), then adds each block sum into its (hi, lo) pair with two TwoSums. The pairs live in registers for the
 * whole dispatch: the sequence of operations on a pair is the same as if it were read and written back every
 * block, so the bytes do not depend on how blocks are grouped into dispatches. Diagonal tiles also sum x
 * (invocations with columnLane 0, four columns each) for Σ x, the same way. No atomics, no cross-invocation
 * reduction: every sum has one owner and a fixed order.
 *
 * 0 x       [.., columns] f32 row-major; block b of this dispatch is tokens [64 b, 64 b + 64) from tokenOffset   read
 * 1 outer   [tiles of the window, 64, 64] vec2<f32> (hi, lo): Σ xxᵀ, tile (r, c) of row-major packed upper tiles  read_write
 * 2 sums    [tileColumns · 64] vec2<f32> (hi, lo): Σ x                                                    read_write
 * 3 params  Params                                                                                    uniform
 */
export const hessianAccumulatorWgsl = /* wgsl */ `
const tile = 64u;
const depth = 16u;
const blockTokens = 64u;
const tileEntries = 4096u;

struct Params {
  columns: u32,
  tileColumns: u32,
  tileRowStart: u32,
  firstTile: u32,
  tokenOffset: u32,
  blocks: u32,
  opaqueZero: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> outer: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

// [depth tokens][16 × vec4 columns] of the tile's row range and of its column range.
var<workgroup> rowSlice: array<vec4<f32>, 256>;
var<workgroup> columnSlice: array<vec4<f32>, 256>;

// WGSL lets a compiler rewrite float expressions as real arithmetic would allow (lavapipe turns TwoSum's error
// term into 0 that way), so every float operation below gets its operands through opaque(): an XOR with a zero
// that only arrives at run time. Each operation is then a lone, correctly rounded f32 add or subtract that no
// compiler can simplify, reassociate or fuse.
fn opaque(value: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(value) ^ params.opaqueZero);
}

// Knuth's TwoSum: s + e == a + b exactly, for any magnitudes (no |a| ≥ |b| precondition, unlike Fast2Sum).
fn twoSum(a: f32, b: f32) -> vec2<f32> {
  let s = opaque(a + b);
  let bPart = opaque(s - a);
  let aPart = opaque(s - bPart);
  return vec2<f32>(s, opaque(opaque(a - aPart) + opaque(b - bPart)));
}

// (hi, lo) + value: the rounding error of hi + value is kept exactly, folded into lo, and the pair renormalized
// so that |lo| ≤ ulp(hi) / 2. The one rounding left, of that error + lo, is about 2⁻⁴⁸ of the sum.
fn addCompensated(state: vec2<f32>, value: f32) -> vec2<f32> {
  let first = twoSum(state.x, opaque(value));
  return twoSum(first.x, opaque(first.y + state.y));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let tileRow = params.tileRowStart + workgroup.y;
  let tileColumn = workgroup.x;
  // Only the upper triangle of tiles is stored and computed (uniform per workgroup, so barriers stay uniform).
  if (tileColumn < tileRow) {
    return;
  }
  let columnLane = local % 16u;
  let rowLane = local / 16u;
  // Tiles before row r in the packed upper triangle: r · tileColumns − r (r − 1) / 2.
  let tileIndex = tileRow * params.tileColumns - (tileRow * (tileRow - 1u)) / 2u + (tileColumn - tileRow) - params.firstTile;
  let base = tileIndex * tileEntries + rowLane * 4u * tile + columnLane * 4u;
  let ownsSums = tileColumn == tileRow && columnLane == 0u;

  var state: array<array<vec2<f32>, 4>, 4>;
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      state[i][j] = outer[base + i * tile + j];
    }
  }
  var sumState: array<vec2<f32>, 4>;
  if (ownsSums) {
    for (var i = 0u; i < 4u; i++) {
      sumState[i] = sums[tileRow * tile + rowLane * 4u + i];
    }
  }

  for (var block = 0u; block < params.blocks; block++) {
    // Explicit zero initializers: with a bare 'var partial: T;' here, lavapipe (Dawn of webgpu 0.6.2) did not
    // re-zero the sums per block, adding each block into all later ones (seen in the parity tests).
    var partial = array<array<f32, 4>, 4>();
    var columnSum = vec4<f32>();
    for (var slice = 0u; slice < blockTokens; slice += depth) {
      let firstToken = block * blockTokens + slice;
      for (var i = 0u; i < 4u; i++) {
        let element = local + i * 256u;
        let token = firstToken + element / tile;
        let offset = element % tile;
        let rowColumn = tileRow * tile + offset;
        let columnColumn = tileColumn * tile + offset;
        var rowValue = 0.0;
        if (rowColumn < params.columns) {
          rowValue = x[params.tokenOffset + token * params.columns + rowColumn];
        }
        var columnValue = 0.0;
        if (columnColumn < params.columns) {
          columnValue = x[params.tokenOffset + token * params.columns + columnColumn];
        }
        rowSlice[element / 4u][element % 4u] = rowValue;
        columnSlice[element / 4u][element % 4u] = columnValue;
      }
      workgroupBarrier();
      for (var k = 0u; k < depth; k++) {
        let a = rowSlice[k * 16u + rowLane];
        let b = columnSlice[k * 16u + columnLane];
        for (var i = 0u; i < 4u; i++) {
          for (var j = 0u; j < 4u; j++) {
            partial[i][j] += a[i] * b[j];
          }
        }
        columnSum += a;
      }
      workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        state[i][j] = addCompensated(state[i][j], partial[i][j]);
      }
    }
    if (ownsSums) {
      for (var i = 0u; i < 4u; i++) {
        sumState[i] = addCompensated(sumState[i], columnSum[i]);
      }
    }
  }

  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      outer[base + i * tile + j] = state[i][j];
    }
  }
  if (ownsSums) {
    for (var i = 0u; i < 4u; i++) {
      sums[tileRow * tile + rowLane * 4u + i] = sumState[i];
    }
  }
}
`;
