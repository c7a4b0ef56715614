/**
 * CPU twin of the SwiGLU kernel: `silu(gate[i]) · up[i]` in f64, rounded to f32.
 *
 * @param gate - `[count]` f32.
 * @param up - `[count]` f32.
 * @returns `[count]` f32.
 * @throws {RangeError} when the lengths differ.
 */
export function swigluCpu(gate: Float32Array, up: Float32Array): Float32Array {
  if (gate.length !== up.length) {
    throw new RangeError(`swigluCpu: gate and up must have the same length (got ${gate.length} and ${up.length})`);
  }
  const output = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) output[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  return output;
}
