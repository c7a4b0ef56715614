import { streamInverseRmsWgsl } from '../rms-norm/stream-inverse-rms.wgsl';

/**
 * SwiGLU activation of the Llama MLP, element-wise: `output[i] = silu(gate[i]) · up[i]` with
 * `silu(g) = g / (1 + exp(−g))`. One invocation per element.
 *
 * With `normalizeInput`, gate and up are first multiplied by the inverse RMS of their token's row of `stream`,
 * `r = 1 / sqrt(mean(stream²) + epsilon)`: the gate/up projections then read the un-normalized residual stream
 * with the RMSNorm gain folded into their weights (`W·diag(g)·(r·x) = r·(W·diag(g)·x)`), so the RMSNorm
 * dispatch in front of them goes away; silu is not linear, so r must be applied here, before it. The grid is
 * then `[ceil(width / workgroupSize), tokens]` so that a workgroup never straddles two tokens and computes r
 * once (a 4096-wide row is 16 KB of L2-resident reads per workgroup). Without it, workgroups are flattened as
 * `id.x + id.y·nx` over `count` elements.
 *
 * 0 gate    [tokens, width] f32  read
 * 1 up      [tokens, width] f32  read
 * 2 output  [tokens, width] f32  read_write
 * 3 stream  [tokens, hidden] f32 read (only with normalizeInput)
 * 4 params  Params               uniform
 */
export const swigluWgsl = /* wgsl */ `
override workgroupSize: u32 = 256;
override normalizeInput: bool = false;

struct Params {
  count: u32,
  width: u32,
  hidden: u32,
  epsilon: f32,
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<storage, read> stream: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;


${streamInverseRmsWgsl}

@compute @workgroup_size(workgroupSize)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  var index = (workgroup.x + workgroup.y * grid.x) * workgroupSize + local;
  var scale = 1.0;
  if (normalizeInput) {
    scale = inverseRms(workgroup.y, local);
    let column = workgroup.x * workgroupSize + local;
    if (column >= params.width) {
      return;
    }
    index = workgroup.y * params.width + column;
  }
  if (index >= params.count) {
    return;
  }
  let g = gate[index] * scale;
  // exp(-g) overflows to +inf for g < -88, and g / inf = -0, the correct limit of silu.
  output[index] = g / (1.0 + exp(-g)) * (up[index] * scale);
}
`;
