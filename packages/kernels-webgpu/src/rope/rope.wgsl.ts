/**
 * Rotary position embedding, in place, for `tokens` consecutive positions starting at `position`:
 * each pair `(a, b)` of a head turns by `angle = (position + t) · inverseFrequencies[i]`,
 * `a' = a·cos − b·sin`, `b' = a·sin + b·cos`. Pairs are adjacent `(2i, 2i+1)` in the interleaved layout
 * (Meta, llama2.c) and `(i, i + headDim/2)` in the rotate-half layout (Hugging Face). The angle is an f32
 * product, as in the reference implementations, reduced to [−π, π] before sin/cos because backends only
 * guarantee their accuracy there. One invocation per pair; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 inverseFrequencies  [headDim/2] f32             read (θ^(−2i/headDim), computed in f64 on the host)
 * 1 values              [tokens, heads, headDim] f32 read_write
 * 2 params              Params                      uniform
 */
export const ropeWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  tokens: u32,
  heads: u32,
  headDim: u32,
  position: u32,
  interleaved: u32,
}

@group(0) @binding(0) var<storage, read> inverseFrequencies: array<f32>;
@group(0) @binding(1) var<storage, read_write> values: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// Cody-Waite split of 2π: turns · twoPiHigh is exact for |turns| < 2^16 (8 significant bits), so the
// reduction loses nothing for positions below 2^16 / max(inverseFrequencies) · 2π.
const twoPiHigh = 6.28125;
const twoPiLow = 1.9353071795864769e-3;
const inverseTwoPi = 0.15915494309189535;

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  let pairs = params.headDim / 2u;
  if (index >= params.tokens * params.heads * pairs) {
    return;
  }
  let pair = index % pairs;
  let head = index / pairs;
  let token = head / params.heads;
  let angle = f32(params.position + token) * inverseFrequencies[pair];
  let turns = round(angle * inverseTwoPi);
  let reduced = (angle - turns * twoPiHigh) - turns * twoPiLow;
  let c = cos(reduced);
  let s = sin(reduced);
  let base = head * params.headDim;
  var first = base + pair;
  var second = base + pair + pairs;
  if (params.interleaved != 0u) {
    first = base + 2u * pair;
    second = first + 1u;
  }
  let a = values[first];
  let b = values[second];
  values[first] = a * c - b * s;
  values[second] = a * s + b * c;
}
`;
