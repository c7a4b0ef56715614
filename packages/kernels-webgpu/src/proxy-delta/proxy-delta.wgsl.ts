/**
 * The proxy error's ΔW in the `[cols, rows]` layout of the column loop: `Ŵ − W` with the quantized weight taken
 * back to original units, `Ŵ = fma(q, scale_c, bias_c)` (`hasNorm`) or `q`: the f32 counterpart of
 * `@vptq/codebook`'s `applyNorm` (`fround(q·scale + bias)`, which an exact fused multiply-add rounds the same way).
 * One invocation per element; workgroups flattened as `id.x + id.y·nx`.
 *
 * 0 quantized  [cols, rows] f32   read        normalized units, quantization order
 * 1 original   [cols, rows] f32   read        the weight as given, quantization order
 * 2 norm       [2, cols] f32      read        scale, then bias, per quantization position (placeholder without norm)
 * 3 delta      [cols, rows] f32   read_write
 * 4 params     Params             uniform
 */
export const proxyDeltaWgsl = /* wgsl */ `
override hasNorm: bool = true;

struct Params {
  count: u32,
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> quantized: array<f32>;
@group(0) @binding(1) var<storage, read> original: array<f32>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) grid: vec3u,
  @builtin(local_invocation_index) local: u32,
) {
  let index = (workgroup.x + workgroup.y * grid.x) * 256u + local;
  if (index >= params.count) {
    return;
  }
  var value = quantized[index];
  if (hasNorm) {
    let column = index / params.rows;
    value = fma(value, norm[column], norm[params.cols + column]);
  }
  delta[index] = value - original[index];
}
`;
