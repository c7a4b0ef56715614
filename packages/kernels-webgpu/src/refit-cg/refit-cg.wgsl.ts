/**
 * The vector steps of preconditioned conjugate gradients on v independent systems at once (codebook columns
 * j = 0 … v − 1 of a refit block, vectors `[unknowns, v]` f32, element (k, j) at k·v + j), the GPU twin of
 * `conjugateGradient` of @vptq/codebook: every scalar lives in `state` on the GPU, so a whole solve records without
 * a readback. The product A·p and, for a dense preconditioner, z = P·r come from other kernels; `stage` picks the
 * step:
 *
 * - 0 `jacobi`: z = r / precondition_j (the Jacobi preconditioner: diag(M) + ridge).
 * - 1 `dots`: partial dots r·r, r·z (after the preconditioner, and the null-space projection, wrote z).
 * - 2 `curvature`: partial dot p·Ap.
 * - 3 `start`: reduce r·r, r·z: stop = tolerance²·r·r, active = r·r > 0, ρ = r·z.
 * - 4 `step`: reduce p·Ap: α = ρ / p·Ap while active and p·Ap > 0 (else the column stops, α = 0).
 * - 5 `update`: x += α·p, r −= α·Ap (a stopped column does not move); with `jacobi`, then z as stage 0.
 * - 6 `next`: reduce r·r, r·z: a column stops once r·r ≤ stop, or when r·z is not positive (in f32 that happens only
 *   at the rounding floor, where further steps are ratios of noise); else β = r·z / ρ, ρ = r·z.
 * - 7 `direction`: p = z + β·p (β = 0 for a stopped column).
 *
 * Partial dots: one invocation per row k, a fixed tree over the 256 rows of a workgroup, one `[2, v]` record per
 * workgroup; the reductions add the records in workgroup order. Every sum has a fixed order: same inputs, same bits.
 * `state[j]` (8 f32): ρ, stop, α, β, active (1 or 0), r·r, steps taken, r·r at the start.
 *
 * 0 precondition  [2, unknowns] f32: diag + ridge for the full, then the cut columns   read
 * 1 product       [unknowns, v] f32 A·p                                               read
 * 2 x             [unknowns, v] f32                                                   read_write
 * 3 residual      [unknowns, v] f32 r                                                 read_write
 * 4 preconditioned [unknowns, v] f32 z                                                read_write
 * 5 direction     [unknowns, v] f32 p                                                 read_write
 * 6 partials      [groups, 2, v] f32                                                  read_write
 * 7 state         [v, 8] f32                                                          read_write
 * 8 params        Params                                                              uniform
 */
export const refitCgWgsl = /* wgsl */ `
override stage: u32 = 0u;
override jacobi: bool = true;

const workgroupSize = 256u;
const maxVectorLength = 16u;

struct Params {
  unknowns: u32,
  vectorLength: u32,
  filled: u32,
  groups: u32,
  toleranceSquared: f32,
}

@group(0) @binding(0) var<storage, read> precondition: array<f32>;
@group(0) @binding(1) var<storage, read> product: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> preconditioned: array<f32>;
@group(0) @binding(5) var<storage, read_write> direction: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;
@group(0) @binding(7) var<storage, read_write> state: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

var<workgroup> tree: array<f32, workgroupSize * maxVectorLength>;

// Adds every invocation's values into one record per workgroup (slot 0 or 1 of its [2, v] record), in a fixed tree.
fn reduceInto(values: ptr<function, array<f32, maxVectorLength>>, slot: u32, group: u32, local: u32) {
  let v = params.vectorLength;
  for (var j = 0u; j < v; j++) {
    tree[j * workgroupSize + local] = (*values)[j];
  }
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      for (var j = 0u; j < v; j++) {
        tree[j * workgroupSize + local] += tree[j * workgroupSize + local + stride];
      }
    }
    workgroupBarrier();
  }
  if (local == 0u && group < params.groups) {
    for (var j = 0u; j < v; j++) {
      partials[(group * 2u + slot) * v + j] = tree[j * workgroupSize];
    }
  }
  workgroupBarrier();
}

fn preconditionerOf(k: u32, j: u32) -> f32 {
  return precondition[select(params.unknowns + k, k, j < params.filled)];
}

// z = r / diag (Jacobi).
fn jacobiRow(k: u32) {
  if (k < params.unknowns) {
    for (var j = 0u; j < params.vectorLength; j++) {
      preconditioned[k * params.vectorLength + j] = residual[k * params.vectorLength + j] / preconditionerOf(k, j);
    }
  }
}

// The partial dots r·r and r·z of this workgroup.
fn dots(k: u32, group: u32, local: u32) {
  let v = params.vectorLength;
  var squares = array<f32, maxVectorLength>();
  var products = array<f32, maxVectorLength>();
  if (k < params.unknowns) {
    for (var j = 0u; j < v; j++) {
      let r = residual[k * v + j];
      squares[j] = r * r;
      products[j] = r * preconditioned[k * v + j];
    }
  }
  reduceInto(&squares, 0u, group, local);
  reduceInto(&products, 1u, group, local);
}

// The column's sums of record slot 0 and 1 over every workgroup, in workgroup order.
fn total(slot: u32, j: u32) -> f32 {
  var sum = 0.0;
  for (var group = 0u; group < params.groups; group++) {
    sum += partials[(group * 2u + slot) * params.vectorLength + j];
  }
  return sum;
}

fn reduceStage(j: u32) {
  let base = j * 8u;
  if (stage == 3u) {
    let squares = total(0u, j);
    state[base] = total(1u, j);
    state[base + 1u] = params.toleranceSquared * squares;
    state[base + 2u] = 0.0;
    state[base + 3u] = 0.0;
    state[base + 4u] = select(0.0, 1.0, squares > 0.0);
    state[base + 5u] = squares;
    state[base + 6u] = 0.0;
    state[base + 7u] = squares;
  } else if (stage == 4u) {
    let curvature = total(0u, j);
    var alpha = 0.0;
    if (state[base + 4u] != 0.0) {
      if (curvature > 0.0) {
        alpha = state[base] / curvature;
        state[base + 6u] += 1.0;
      } else {
        state[base + 4u] = 0.0;
      }
    }
    state[base + 2u] = alpha;
  } else {
    let squares = total(0u, j);
    let products = total(1u, j);
    var beta = 0.0;
    if (state[base + 4u] != 0.0) {
      state[base + 5u] = squares;
      if (squares <= state[base + 1u] || !(products > 0.0)) {
        state[base + 4u] = 0.0;
      } else {
        beta = products / state[base];
        state[base] = products;
      }
    }
    state[base + 3u] = beta;
  }
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let group = workgroup.x + workgroup.y * grid.x;
  let k = group * workgroupSize + local;
  let v = params.vectorLength;
  if (stage == 0u) {
    jacobiRow(k);
  } else if (stage == 1u) {
    dots(k, group, local);
  } else if (stage == 2u) {
    var curvature = array<f32, maxVectorLength>();
    if (k < params.unknowns) {
      for (var j = 0u; j < v; j++) {
        curvature[j] = direction[k * v + j] * product[k * v + j];
      }
    }
    reduceInto(&curvature, 0u, group, local);
  } else if (stage == 3u || stage == 4u || stage == 6u) {
    if (group == 0u && local < v) {
      reduceStage(local);
    }
  } else if (stage == 5u) {
    if (k < params.unknowns) {
      for (var j = 0u; j < v; j++) {
        let alpha = state[j * 8u + 2u];
        if (alpha != 0.0) {
          let index = k * v + j;
          x[index] = fma(alpha, direction[index], x[index]);
          residual[index] = fma(-alpha, product[index], residual[index]);
        }
      }
    }
    if (jacobi) {
      jacobiRow(k);
    }
  } else {
    if (k < params.unknowns) {
      for (var j = 0u; j < v; j++) {
        let index = k * v + j;
        direction[index] = fma(state[j * 8u + 3u], direction[index], preconditioned[index]);
      }
    }
  }
}
`;
