/**
 * `inverseRms(token, local)`: 1 / √(mean x² + ε) of row `token` of the `stream` binding, reduced by the whole
 * workgroup in `partialSums` (declared here). The including module provides `stream: array<f32>`, the
 * `workgroupSize` override and `params.hidden` / `params.epsilon`. Used by the kernels that apply an RMSNorm whose
 * gain was folded into the weights (RoPE + KV append for q/k/v, SwiGLU for gate/up).
 */
export const streamInverseRmsWgsl = /* wgsl */ `
var<workgroup> partialSums: array<f32, workgroupSize>;

/** The inverse RMS of the token's stream row; every invocation of the workgroup calls it (it has barriers). */
fn inverseRms(token: u32, local: u32) -> f32 {
  var sum = 0.0;
  let base = token * params.hidden;
  for (var c = local; c < params.hidden; c += workgroupSize) {
    let value = stream[base + c];
    sum += value * value;
  }
  partialSums[local] = sum;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) {
      partialSums[local] += partialSums[local + stride];
    }
    workgroupBarrier();
  }
  return inverseSqrt(partialSums[0] / f32(params.hidden) + params.epsilon);
}
`;
