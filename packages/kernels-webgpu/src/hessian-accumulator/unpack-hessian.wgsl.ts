/**
 * The accumulator's sums as a matrix: E[xxᵀ] `[n, n]` f32, both triangles, from one window of the packed upper
 * tiles of (hi, lo) pairs: entry (i, j) = (hi + lo)·invTokens, written at (i, j) and (j, i). The diagonal's pairs
 * are copied out as they are (the host divides them in f64), and the lowest flat index whose pair or value is
 * not finite goes into `flag` by an atomic minimum.
 *
 * One workgroup of 256 invocations per 64 × 64 tile (grid: tileColumns × the window's tile rows; tiles below the
 * diagonal exit), 16 entries per invocation.
 *
 * 0 outer     [tiles of the window, 64, 64] vec2<f32>   read
 * 1 matrix    [n, n] f32                             read_write
 * 2 diagonal  [n] vec2<f32>                          read_write
 * 3 flag      atomic<u32>                            read_write
 * 4 params    Params                                 uniform
 */
export const unpackHessianWgsl = /* wgsl */ `
const tile = 64u;
const tileEntries = 4096u;

struct Params {
  columns: u32,
  tileColumns: u32,
  tileRowStart: u32,
  firstTile: u32,
  invTokens: f32,
}

@group(0) @binding(0) var<storage, read> outer: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> matrix: array<f32>;
@group(0) @binding(2) var<storage, read_write> diagonal: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> flag: atomic<u32>;
@group(0) @binding(4) var<uniform> params: Params;

fn nonFinite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let tileColumn = workgroup.x;
  let tileRow = params.tileRowStart + workgroup.y;
  if (tileColumn < tileRow) {
    return;
  }
  let n = params.columns;
  // Tiles before tile row r in the packed upper triangle: r·tileColumns − r(r − 1)/2.
  let before = tileRow * params.tileColumns - (tileRow * (tileRow - 1u)) / 2u;
  let base = (before - params.firstTile + tileColumn - tileRow) * tileEntries;
  for (var entry = local; entry < tileEntries; entry += 256u) {
    let row = tileRow * tile + entry / tile;
    let column = tileColumn * tile + entry % tile;
    if (row >= n || column >= n || column < row) {
      continue;
    }
    let pair = outer[base + entry];
    let value = (pair.x + pair.y) * params.invTokens;
    if (nonFinite(pair.x) || nonFinite(pair.y) || nonFinite(value)) {
      atomicMin(&flag, row * n + column);
    }
    matrix[row * n + column] = value;
    matrix[column * n + row] = value;
    if (row == column) {
      diagonal[row] = pair;
    }
  }
}
`;
