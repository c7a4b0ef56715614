/**
 * Projects a vector of the refit's conjugate gradients (`[unknowns, v]` f32: the preconditioned residual z, and the
 * search direction p) onto the complement of the normal matrix's null space. A part with a residual codebook has one exact null direction per codebook column: every used main
 * entry up by δ and every used residual entry down by δ leaves every reconstruction, so the objective, unchanged
 * (n_g: +1 on the part's used main slots, −1 on its used residual slots, 0 elsewhere). The CPU refit pins it with
 * its 1e-9 ridge toward the current codebook, exactly in f64; in f32 the same ridge would let rounding noise grow
 * along n_g by up to 1/ridge (the preconditioners amplify it most there), moving the main/residual split that the
 * column loop's greedy search depends on. Keeping every search direction orthogonal to n_g keeps that component of
 * x at its start value, which is where the CPU's ridge puts it: the same solution. z is projected before its dots,
 * and p again after every update p = z + β·p: near convergence β can exceed 1 for many steps, and the rounding
 * residue of n_g in p, multiplied by β each time and met by a curvature of only the ridge along n_g, grows into
 * huge steps along it (measured: a shift of 15× the codebook's range within three iterations). The codebook columns j ≥ filled
 * (cut by the padded last vector) have their own null directions, over the slots used by the other vector rows.
 *
 * Stage 0 (`coefficients`): one workgroup per null direction g sums n_g·y per column over its slot range (256 lanes,
 * a fixed tree) and writes c_{g,j} = (n_g·y_j) / (n_g·n_g). Stage 1 (`project`): one invocation per slot,
 * y[k, j] −= n_g[k]·c_{g,j}.
 *
 * 0 nullSlots     [unknowns] u32: 0 (no null direction), else (g + 1) << 3 | usedCut << 2 | usedFull << 1 | (1 for −1)   read
 * 1 nullGroups    [groups, 4] u32: first slot, end slot, n_g·n_g of the full and of the cut columns         read
 * 2 values        [unknowns, v] f32: z or p                                          read_write
 * 3 coefficients  [groups, v] f32                                                    read_write
 * 4 params        Params                                                             uniform
 */
export const refitNullWgsl = /* wgsl */ `
override stage: u32 = 0u;

const workgroupSize = 256u;
const maxVectorLength = 16u;

struct Params {
  unknowns: u32,
  vectorLength: u32,
  filled: u32,
  groups: u32,
}

@group(0) @binding(0) var<storage, read> nullSlots: array<u32>;
@group(0) @binding(1) var<storage, read> nullGroups: array<u32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> coefficients: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> tree: array<f32, workgroupSize * maxVectorLength>;

// n_g[k] for codebook column j: ±1 where the slot is used by the column's vector rows, else 0.
fn weightOf(code: u32, j: u32) -> f32 {
  let used = select((code >> 2u) & 1u, (code >> 1u) & 1u, j < params.filled);
  return select(0.0, select(1.0, -1.0, (code & 1u) != 0u), used != 0u);
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let v = params.vectorLength;
  if (stage == 0u) {
    let g = workgroup.x;
    var sums = array<f32, maxVectorLength>();
    let first = nullGroups[4u * g];
    let end = nullGroups[4u * g + 1u];
    for (var k = first + local; k < end; k += workgroupSize) {
      let code = nullSlots[k];
      if (code != 0u) {
        for (var j = 0u; j < v; j++) {
          sums[j] += weightOf(code, j) * values[k * v + j];
        }
      }
    }
    for (var j = 0u; j < v; j++) {
      tree[j * workgroupSize + local] = sums[j];
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
    if (local == 0u) {
      for (var j = 0u; j < v; j++) {
        let count = f32(nullGroups[4u * g + select(3u, 2u, j < params.filled)]);
        coefficients[g * v + j] = select(0.0, tree[j * workgroupSize] / count, count > 0.0);
      }
    }
  } else {
    let k = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
    if (k >= params.unknowns) {
      return;
    }
    let code = nullSlots[k];
    if (code == 0u) {
      return;
    }
    let g = (code >> 3u) - 1u;
    for (var j = 0u; j < v; j++) {
      values[k * v + j] -= weightOf(code, j) * coefficients[g * v + j];
    }
  }
}
`;
