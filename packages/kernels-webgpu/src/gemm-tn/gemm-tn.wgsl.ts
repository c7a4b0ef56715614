/**
 * Tiled `C = Aᵀ·B` for operands stored k-major (`A[k·lda + m]`, `B[k·ldb + n]`), with one of three epilogues:
 *
 * - subtract (`quadratic` and `store` false): `X[n·ldx + m] −= C[m, n]`. The column loop's lazy update
 *   `W[:, end:] −= E·U'[start:end, end:]` in the `[cols, rows]` layout: A = the block's errors `[B, rows]`,
 *   B = rows start..end of U' from column end on, X = the working weight from column end on.
 * - store (`store` true): `X[n·ldx + m] = C[m, n]`. The codebook refit's products of a `[cols, rows]` matrix with
 *   H (its right-hand sides and the matrix-free conjugate gradients' products).
 * - quadratic: one partial sum per workgroup of `Σ C[m, n]·A[n·lda + m]` over its tile, so that the partials add
 *   up to `tr(Aᵀ·B·A)`: the proxy error's `Σ_rows ΔW·H·ΔWᵀ` with A = ΔW `[cols, rows]`, B = H `[cols, cols]`.
 *
 * Workgroups of 256 invocations compute a 64 × 64 tile of C, each invocation 4 × 4 entries strided by 16 (so that
 * neighbouring invocations touch neighbouring m, coalesced), staging 16-deep slices of A and B in workgroup
 * memory. Every sum runs in f32 in a fixed order (k ascending, then a fixed tree over the tile), so the result is
 * the same bytes on every run; no atomics. Each 16-deep slab is summed with fused multiply-adds, and the slab sums
 * are added up with Kahan compensation: the error of an entry is that of 16 products (γ₁₆·Σ|ab|) whatever k is,
 * where a plain f32 sum would carry γ_k (the proxy error's quadratic form of a 4096-column layer cancels strongly:
 * real Hessians are correlated). The compensation costs 4 additions per entry and slab, next to 16 products.
 *
 * 0 a       f32   read
 * 1 b       f32   read
 * 2 x       f32   read_write  (subtract, store; a placeholder for quadratic)
 * 3 sums    [tilesM · tilesN] f32   read_write  (quadratic; a placeholder for subtract)
 * 4 params  Params              uniform
 */
export const gemmTnWgsl = /* wgsl */ `
override quadratic: bool = false;
override store: bool = false;

const tile = 64u;
const depth = 16u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  lda: u32,
  ldb: u32,
  ldx: u32,
  aOffset: u32,
  bOffset: u32,
  xOffset: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> aTile: array<f32, 1024>;
var<workgroup> bTile: array<f32, 1024>;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let mBase = workgroup.x * tile;
  let nBase = workgroup.y * tile;
  let mLane = local % 16u;
  let nLane = local / 16u;
  var acc: array<array<f32, 4>, 4>;
  // Kahan compensation of acc: what the last addition of a slab sum lost.
  var lost: array<array<f32, 4>, 4>;

  for (var k0 = 0u; k0 < params.k; k0 += depth) {
    for (var i = 0u; i < 4u; i++) {
      let element = local + i * 256u;
      let slot = element % tile;
      let kk = element / tile;
      let k = k0 + kk;
      var aValue = 0.0;
      if (k < params.k && mBase + slot < params.m) {
        aValue = a[params.aOffset + k * params.lda + mBase + slot];
      }
      aTile[kk * tile + slot] = aValue;
      var bValue = 0.0;
      if (k < params.k && nBase + slot < params.n) {
        bValue = b[params.bOffset + k * params.ldb + nBase + slot];
      }
      bTile[kk * tile + slot] = bValue;
    }
    workgroupBarrier();
    // Zeroed explicitly every slab: WGSL zero-initializes a declaration each time it runs, but on lavapipe (Mesa 25,
    // Dawn webgpu@0.6.2) one without initializer inside this loop kept the previous slab's sums.
    var slab: array<array<f32, 4>, 4>;
    for (var i = 0u; i < 4u; i++) {
      slab[i] = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    }
    for (var kk = 0u; kk < depth; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = aTile[kk * tile + mLane + 16u * i];
        bv[i] = bTile[kk * tile + nLane + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          slab[i][j] = fma(av[i], bv[j], slab[i][j]);
        }
      }
    }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        let y = slab[i][j] - lost[i][j];
        let t = acc[i][j] + y;
        lost[i][j] = (t - acc[i][j]) - y;
        acc[i][j] = t;
      }
    }
    workgroupBarrier();
  }

  if (!quadratic) {
    for (var i = 0u; i < 4u; i++) {
      let m = mBase + mLane + 16u * i;
      for (var j = 0u; j < 4u; j++) {
        let n = nBase + nLane + 16u * j;
        if (m < params.m && n < params.n) {
          let index = params.xOffset + n * params.ldx + m;
          if (store) {
            x[index] = acc[i][j];
          } else {
            x[index] = x[index] - acc[i][j];
          }
        }
      }
    }
  } else {
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
      let m = mBase + mLane + 16u * i;
      for (var j = 0u; j < 4u; j++) {
        let n = nBase + nLane + 16u * j;
        if (m < params.m && n < params.n) {
          sum = fma(acc[i][j], a[params.aOffset + n * params.lda + m], sum);
        }
      }
    }
    partial[local] = sum;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride /= 2u) {
      if (local < stride) {
        partial[local] += partial[local + stride];
      }
      workgroupBarrier();
    }
    if (local == 0u) {
      sums[workgroup.x + workgroup.y * grid.x] = partial[0];
    }
  }
}
`;
