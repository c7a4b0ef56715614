/**
 * Fills a buffer with seeded pseudo-random words, so that synthetic benchmark weights (a 7B model in f16 is
 * 13.5 GB) are made on the GPU in milliseconds instead of being generated in JS and copied over the bus.
 * Word i is a hash of (seed, offset + i) (Chris Wellons' lowbias32), so any range of a tensor can be filled
 * independently and the result does not depend on the grid. Modes:
 *
 * - 0 `u32`: the raw hash (packed VQ indices: every bit pattern is a valid index when K = 2^bits).
 * - 1 `f16`: two binary16 values per word (low half first); f32 like mode 2, rounded by `pack2x16float`.
 * - 2 `f32`: `±scale · (0.25 + 0.75 · u)` with u uniform in [0, 1) from 24 hash bits: never zero, never
 *   denormal at sane scales, magnitude in [scale/4, scale).
 *
 * Invocations stride over the words (grid-stride loop), so one dispatch of at most 65 535 workgroups covers
 * any binding.
 *
 * 0 words   [count] u32  read_write
 * 1 params  Params       uniform
 */
export const fillRandomWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  count: u32,
  seed: u32,
  offset: u32,
  mode: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read_write> words: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

fn lowbias32(value: u32) -> u32 {
  var h = value;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn hashAt(index: u32, stream: u32) -> u32 {
  return lowbias32((index * 2u + stream) ^ lowbias32(params.seed));
}

fn signedValue(bits: u32) -> f32 {
  let magnitude = params.scale * (0.25 + 0.75 * (f32(bits >> 8u) * (1.0 / 16777216.0)));
  return select(magnitude, -magnitude, (bits & 1u) != 0u);
}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) grid: vec3u) {
  let stride = grid.x * workgroupSize;
  for (var i = id.x; i < params.count; i += stride) {
    let index = params.offset + i;
    if (params.mode == 0u) {
      words[i] = hashAt(index, 0u);
    } else if (params.mode == 1u) {
      words[i] = pack2x16float(vec2f(signedValue(hashAt(index, 0u)), signedValue(hashAt(index, 1u))));
    } else {
      words[i] = bitcast<u32>(signedValue(hashAt(index, 0u)));
    }
  }
}
`;
