/**
 * Per-cluster weighted sums of k-means in 64-bit fixed point, deterministic without sorting: every addend is
 * converted exactly to an integer number of units of `2^-62 / scale` (the f32 value times a power of two,
 * split into two u32 words), and integer addition is associative, so the sums are the same bits whatever
 * order the atomics land in. The 64-bit adds are two u32 atomics: the low word first, then the high word
 * plus the carry the low add produced (`old + low < old`); the total is then exact modulo 2^64, and the host
 * picks scales that keep it inside ±2^63. WGSL has no float atomics and no 64-bit integers, hence this.
 *
 * Step mode (`costMode` false): for each point of positive weight, channels 0 … dim − 1 of its cluster
 * accumulate w·x_j·sumScale and channel dim accumulates w·sumScale; the objective w·‖x − c‖²·costScale is
 * summed per invocation, then per workgroup (workgroup atomics), then into `stats[0..1]`. Cost mode
 * (`costMode` true): channel 0 of each cluster accumulates w·‖x − c‖²·costScale (`channels` = 1), for
 * empty-cluster repair. With `privateWords` > 0 (small k) the workgroup first accumulates into workgroup
 * memory and then adds each non-zero pair to the global accumulators once, so few global atomics collide.
 * Each invocation takes `params.pointsPerInvocation` points, `workgroupSize` apart.
 *
 * 0 points        [count, dim] f32                                      read
 * 1 weights       [count] f32                                           read
 * 2 assignments   [count] u32                                           read
 * 3 centroids     [k, dim] f32                                          read
 * 4 accumulators  [k, channels] × (low, high) u32 words, two's complement  read_write (atomic)
 * 5 stats         [4] u32: words 0, 1 = objective (low, high)           read_write (atomic)
 * 6 params        Params                                                uniform
 */
export const kmeansReduceWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override dim: u32 = 8;
override costMode: bool = false;
override channels: u32 = select(dim + 1u, 1u, costMode);
override privateWords: u32 = 0u;
override localWords: u32 = max(privateWords, 2u);

struct Params {
  count: u32,
  pointsPerInvocation: u32,
  sumScale: f32,
  costScale: f32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> assignments: array<u32>;
@group(0) @binding(3) var<storage, read> centroids: array<f32>;
@group(0) @binding(4) var<storage, read_write> accumulators: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(6) var<uniform> params: Params;

var<workgroup> privateSums: array<atomic<u32>, localWords>;
var<workgroup> objectiveWords: array<atomic<u32>, 2>;

// |value| < 2^63 and integral above 2^24 (it is an f32): the exact two's complement (low, high) words of
// round(value). Every step is exact: power-of-two scaling, floor, and the subtraction of the high part.
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

fn add64(a: vec2u, b: vec2u) -> vec2u {
  let low = a.x + b.x;
  return vec2u(low, a.y + b.y + select(0u, 1u, low < a.x));
}

fn addGlobal(pair: u32, value: vec2u) {
  let old = atomicAdd(&accumulators[2u * pair], value.x);
  let high = value.y + select(0u, 1u, old + value.x < old);
  if (high != 0u) {
    atomicAdd(&accumulators[2u * pair + 1u], high);
  }
}

fn addPrivate(pair: u32, value: vec2u) {
  let old = atomicAdd(&privateSums[2u * pair], value.x);
  let high = value.y + select(0u, 1u, old + value.x < old);
  if (high != 0u) {
    atomicAdd(&privateSums[2u * pair + 1u], high);
  }
}

fn add(pair: u32, value: vec2u) {
  if (privateWords > 0u) {
    addPrivate(pair, value);
  } else {
    addGlobal(pair, value);
  }
}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let first = (workgroup.x + workgroup.y * grid.x) * workgroupSize * params.pointsPerInvocation + local;
  var objective = vec2u(0u);
  for (var r = 0u; r < params.pointsPerInvocation; r++) {
    let point = first + r * workgroupSize;
    if (point >= params.count) {
      break;
    }
    let weight = weights[point];
    if (weight == 0.0) {
      continue;
    }
    let cluster = assignments[point];
    var distance = 0.0;
    for (var j = 0u; j < dim; j++) {
      let x = points[point * dim + j];
      if (!costMode) {
        add(cluster * channels + j, toFixed(weight * x * params.sumScale));
      }
      let difference = x - centroids[cluster * dim + j];
      distance += difference * difference;
    }
    let cost = toFixed(weight * distance * params.costScale);
    if (costMode) {
      add(cluster, cost);
    } else {
      add(cluster * channels + dim, toFixed(weight * params.sumScale));
      objective = add64(objective, cost);
    }
  }
  if (!costMode && (objective.x | objective.y) != 0u) {
    let old = atomicAdd(&objectiveWords[0], objective.x);
    atomicAdd(&objectiveWords[1], objective.y + select(0u, 1u, old + objective.x < old));
  }
  workgroupBarrier();
  if (privateWords > 0u) {
    for (var pair = local; pair < privateWords / 2u; pair += workgroupSize) {
      let value = vec2u(atomicLoad(&privateSums[2u * pair]), atomicLoad(&privateSums[2u * pair + 1u]));
      if ((value.x | value.y) != 0u) {
        addGlobal(pair, value);
      }
    }
  }
  if (!costMode && local == 0u) {
    let value = vec2u(atomicLoad(&objectiveWords[0]), atomicLoad(&objectiveWords[1]));
    if ((value.x | value.y) != 0u) {
      let old = atomicAdd(&stats[0], value.x);
      atomicAdd(&stats[1], value.y + select(0u, 1u, old + value.x < old));
    }
  }
}
`;
