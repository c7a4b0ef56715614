/**
 * Workgroup reductions shared by several kernels, in two interchangeable versions that define the same
 * names. A kernel module that uses them declares `override workgroupSize: u32` (a power of two),
 * `override sumCount: u32` (how many sums each invocation holds, at most `maxSums`) and
 * `var<private> sums: array<f32, maxSums>`, takes `lanes: Lanes` as an entry-point parameter, calls
 * `reduceSums(local, lanes)` from workgroup-uniform control flow, then reads `reducedSum(a)` from any
 * invocation. The shared-memory version needs no feature; the subgroup version needs `subgroups` and must
 * be preceded by {@link subgroupsDirective}.
 *
 * The subgroup version assumes that subgroups hold consecutive `local_invocation_index` values, as every
 * Vulkan, Metal and D3D12 driver lays out a 1-D workgroup.
 */
export const sharedMemoryReduceWgsl = /* wgsl */ `
const maxSums = 64u;

struct Lanes {
  @builtin(local_invocation_id) unusedLocalId: vec3u,
}

override reduceScratchSize: u32 = workgroupSize * sumCount;
var<workgroup> reduceScratch: array<f32, reduceScratchSize>;

fn reduceSums(local: u32, lanes: Lanes) {
  for (var a = 0u; a < sumCount; a++) {
    reduceScratch[a * workgroupSize + local] = sums[a];
  }
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      for (var a = 0u; a < sumCount; a++) {
        reduceScratch[a * workgroupSize + local] += reduceScratch[a * workgroupSize + local + stride];
      }
    }
    workgroupBarrier();
  }
}

fn reducedSum(a: u32) -> f32 {
  return reduceScratch[a * workgroupSize];
}
`;

/** `subgroups` must be enabled before any declaration of a module that uses {@link subgroupReduceWgsl}. */
export const subgroupsDirective = 'enable subgroups;\n';

/** The subgroup version of {@link sharedMemoryReduceWgsl}: one `subgroupAdd` per sum, then 2 barriers. */
export const subgroupReduceWgsl = /* wgsl */ `
const maxSums = 64u;

struct Lanes {
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) size: u32,
}

// Subgroups have at least 4 invocations on every backend, so a workgroup has at most workgroupSize / 4.
override reduceScratchSize: u32 = max(workgroupSize / 4u, 1u) * sumCount;
var<workgroup> reduceScratch: array<f32, reduceScratchSize>;
override reducedSize: u32 = sumCount;
var<workgroup> reduced: array<f32, reducedSize>;

fn reduceSums(local: u32, lanes: Lanes) {
  let stride = max(workgroupSize / 4u, 1u);
  let subgroup = local / lanes.size;
  for (var a = 0u; a < sumCount; a++) {
    let total = subgroupAdd(sums[a]);
    if (lanes.lane == 0u) {
      reduceScratch[a * stride + subgroup] = total;
    }
  }
  workgroupBarrier();
  let subgroupCount = (workgroupSize + lanes.size - 1u) / lanes.size;
  for (var a = local; a < sumCount; a += workgroupSize) {
    var total = 0.0;
    for (var s = 0u; s < subgroupCount; s++) {
      total += reduceScratch[a * stride + s];
    }
    reduced[a] = total;
  }
  workgroupBarrier();
}

fn reducedSum(a: u32) -> f32 {
  return reduced[a];
}
`;
