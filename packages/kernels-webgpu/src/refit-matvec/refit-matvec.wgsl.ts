/**
 * Dense products of the refit's n × n matrices with a block of v vectors, `[n, v]` f32, column j with its own
 * matrix: A_j is the full matrix (at element 0) for j < filled and the cut one (at `matrixStride`) for the others.
 * The dense refit's preconditioner z = Uᵀ·(U·r) is one product of each kind with its inverse Cholesky factors U.
 *
 * - column access (`rowAccess` false): `y[i, j] = Σ_k A_j[k, i]·x[k, j]`: Aᵀ·x, so Uᵀ·x for an upper triangular U
 *   (with `upper`, k ≤ i only). Workgroups of 64 consecutive i × 4 lanes of k: each k reads 64 consecutive floats
 *   of a row of A.
 * - row access (`rowAccess` true): `y[i, j] = Σ_k A_j[i, k]·x[k, j]`: A·x, so U·x (with `upper`, k ≥ i only). One
 *   workgroup of 256 lanes of k per row i.
 *
 * Lanes sum their k in increasing order and are then added in a fixed tree, so the result is the same bits on every
 * run. x and y must be different buffers.
 *
 * 0 matrices  f32                        read
 * 1 x         [unknowns, vectorLength] f32   read
 * 2 y         [unknowns, vectorLength] f32   read_write
 * 3 params    Params                     uniform
 */
export const refitMatvecWgsl = /* wgsl */ `
override rowAccess: bool = false;

const workgroupSize = 256u;
const maxVectorLength = 16u;
const columnTile = 64u;
const columnLanes = 4u;

struct Params {
  unknowns: u32,
  vectorLength: u32,
  filled: u32,
  matrixStride: u32,
  upper: u32,
}

@group(0) @binding(0) var<storage, read> matrices: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, workgroupSize * maxVectorLength>;

fn product(matrixIndex: u32, k: u32, acc: ptr<function, array<f32, maxVectorLength>>) {
  let v = params.vectorLength;
  let full = matrices[matrixIndex];
  var cut = full;
  if (params.filled < v) {
    cut = matrices[params.matrixStride + matrixIndex];
  }
  for (var j = 0u; j < v; j++) {
    (*acc)[j] = fma(select(cut, full, j < params.filled), x[k * v + j], (*acc)[j]);
  }
}

fn finish(i: u32, acc: ptr<function, array<f32, maxVectorLength>>) {
  for (var j = 0u; j < params.vectorLength; j++) {
    y[i * params.vectorLength + j] = (*acc)[j];
  }
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let n = params.unknowns;
  let v = params.vectorLength;
  var acc = array<f32, maxVectorLength>();
  if (rowAccess) {
    let i = workgroup.x;
    var k = local;
    if (params.upper != 0u) {
      k += i;
    }
    for (; k < n; k += workgroupSize) {
      product(i * n + k, k, &acc);
    }
    for (var j = 0u; j < v; j++) {
      partial[j * workgroupSize + local] = acc[j];
    }
    workgroupBarrier();
    for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
      if (local < stride) {
        for (var j = 0u; j < v; j++) {
          partial[j * workgroupSize + local] += partial[j * workgroupSize + local + stride];
        }
      }
      workgroupBarrier();
    }
    if (local == 0u) {
      for (var j = 0u; j < v; j++) {
        acc[j] = partial[j * workgroupSize];
      }
      finish(i, &acc);
    }
  } else {
    let column = local % columnTile;
    let lane = local / columnTile;
    let i = workgroup.x * columnTile + column;
    var end = n;
    if (params.upper != 0u) {
      end = min(n, i + 1u);
    }
    if (i < n) {
      for (var k = lane; k < end; k += columnLanes) {
        product(k * n + i, k, &acc);
      }
    }
    for (var j = 0u; j < v; j++) {
      partial[(lane * maxVectorLength + j) * columnTile + column] = acc[j];
    }
    workgroupBarrier();
    if (lane == 0u && i < n) {
      for (var j = 0u; j < v; j++) {
        var sum = partial[j * columnTile + column];
        for (var other = 1u; other < columnLanes; other++) {
          sum += partial[(other * maxVectorLength + j) * columnTile + column];
        }
        acc[j] = sum;
      }
      finish(i, &acc);
    }
  }
}
`;
