import { streamInverseRmsWgsl } from '../rms-norm/stream-inverse-rms.wgsl';

/**
 * RoPE and KV-cache append of one forward pass in one dispatch. For token t at absolute position
 * `p = position + t` (the position from a uniform that every position-dependent kernel of the pass shares):
 * the query heads are rotated in place, the key heads are rotated and written to key-cache row p, and the value
 * heads are copied to value-cache row p. Each pair `(a, b)` turns by `angle = p · inverseFrequencies[i]`,
 * `a' = a·cos − b·sin`, `b' = a·sin + b·cos`, with pairs `(2i, 2i+1)` (interleaved) or `(i, i + headDim/2)`
 * (rotate-half); the angle is reduced to [−π, π] as in the RoPE kernel before sin/cos.
 *
 * With `normalize` set, q, k and v are first multiplied by the inverse RMS of the token's row of `stream`,
 * `1 / sqrt(mean(stream²) + epsilon)`: the q/k/v projections then read the un-normalized residual stream with
 * the RMSNorm gain folded into their weights (`W·diag(g)·(r·x) = r·(W·diag(g)·x)`), so the RMSNorm dispatch in
 * front of them goes away and its reduction is redone here, once per workgroup (a 4096-wide row is 16 KB of
 * L2-resident reads). RoPE is linear, so scaling before or after the rotation is the same up to rounding.
 *
 * Grid: x over the `(heads + 2·kvHeads)·headDim/2` work items of a token (one per rotated pair, one per two
 * copied values), y = token, so a workgroup never straddles two tokens' rows of `stream`.
 *
 * Query, keys and values are bound `read_write` although keys and values are only read: decode keeps them side
 * by side in one `[q | k | v]` buffer, and WebGPU allows several writable bindings of one buffer in a dispatch
 * but not a read-only one beside a writable one.
 *
 * 0 inverseFrequencies  [headDim/2] f32                     read
 * 1 query               [tokens, heads, headDim] f32         read_write (rotated in place)
 * 2 keys                [tokens, kvHeads, headDim] f32       read_write (only read)
 * 3 values              [tokens, kvHeads, headDim] f32       read_write (only read)
 * 4 keyCache            [capacity, kvHeads, headDim] f32     read_write (rows position … position + tokens − 1)
 * 5 valueCache          [capacity, kvHeads, headDim] f32     read_write
 * 6 stream              [tokens, hidden] f32                 read (only with normalize)
 * 7 params              Params                               uniform
 * 8 position            Position                             uniform, rewritten once per forward pass
 */
export const ropeKvAppendWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;

struct Params {
  tokens: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  interleaved: u32,
  normalize: u32,
  hidden: u32,
  epsilon: f32,
}

struct Position {
  position: u32,
}

@group(0) @binding(0) var<storage, read> inverseFrequencies: array<f32>;
@group(0) @binding(1) var<storage, read_write> query: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<f32>;
@group(0) @binding(3) var<storage, read_write> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> keyCache: array<f32>;
@group(0) @binding(5) var<storage, read_write> valueCache: array<f32>;
@group(0) @binding(6) var<storage, read> stream: array<f32>;
@group(0) @binding(7) var<uniform> params: Params;
@group(0) @binding(8) var<uniform> position: Position;


// Cody-Waite split of 2π, as in the RoPE kernel: exact reduction for positions below 2^16 / max frequency · 2π.
const twoPiHigh = 6.28125;
const twoPiLow = 1.9353071795864769e-3;
const inverseTwoPi = 0.15915494309189535;

${streamInverseRmsWgsl}

@compute @workgroup_size(workgroupSize)
fn main(@builtin(workgroup_id) workgroup: vec3u, @builtin(local_invocation_index) local: u32) {
  let token = workgroup.y;
  var scale = 1.0;
  if (params.normalize != 0u) {
    scale = inverseRms(token, local);
  }
  let headDim = params.headDim;
  let pairs = headDim / 2u;
  let queryItems = params.heads * pairs;
  let keyItems = params.kvHeads * pairs;
  let item = workgroup.x * workgroupSize + local;
  if (item >= queryItems + 2u * keyItems) {
    return;
  }
  let row = position.position + token;
  let kvWidth = params.kvHeads * headDim;

  if (item >= queryItems + keyItems) {
    // Values: two consecutive elements per work item.
    let element = 2u * (item - queryItems - keyItems);
    let source = token * kvWidth + element;
    let destination = row * kvWidth + element;
    valueCache[destination] = values[source] * scale;
    valueCache[destination + 1u] = values[source + 1u] * scale;
    return;
  }

  let isQuery = item < queryItems;
  let itemInGroup = select(item - queryItems, item, isQuery);
  let head = itemInGroup / pairs;
  let pair = itemInGroup % pairs;
  var first = pair;
  var second = pair + pairs;
  if (params.interleaved != 0u) {
    first = 2u * pair;
    second = first + 1u;
  }
  let angle = f32(row) * inverseFrequencies[pair];
  let turns = round(angle * inverseTwoPi);
  let reduced = (angle - turns * twoPiHigh) - turns * twoPiLow;
  let c = cos(reduced);
  let s = sin(reduced);
  if (isQuery) {
    let base = (token * params.heads + head) * headDim;
    let a = query[base + first] * scale;
    let b = query[base + second] * scale;
    query[base + first] = a * c - b * s;
    query[base + second] = a * s + b * c;
  } else {
    let source = token * kvWidth + head * headDim;
    let destination = row * kvWidth + head * headDim;
    let a = keys[source + first] * scale;
    let b = keys[source + second] * scale;
    keyCache[destination + first] = a * c - b * s;
    keyCache[destination + second] = a * s + b * c;
  }
}
`;
