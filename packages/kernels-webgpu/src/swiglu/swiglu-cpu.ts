/**
 * CPU twin of the SwiGLU kernel: `silu(gate[i]) · up[i]` in f64, rounded to f32. With `normalize`, gate and up
 * (`[tokens, width]`) are first multiplied by the inverse RMS of their token's `[hidden]` row of `stream`,
 * `1 / sqrt(mean(stream²) + epsilon)`, as the kernel's folded-RMSNorm variant does.
 *
 * @param gate - `[count]` f32.
 * @param up - `[count]` f32.
 * @param normalize.stream - `[tokens, hidden]` f32.
 * @returns `[count]` f32.
 * @throws {RangeError} when the lengths differ or do not match the normalization's shape.
 */
export function swigluCpu(
  gate: Float32Array,
  up: Float32Array,
  normalize?: { readonly stream: Float32Array; readonly tokens: number; readonly hidden: number; readonly epsilon: number },
): Float32Array {
  if (gate.length !== up.length) {
    throw new RangeError(`swigluCpu: gate and up must have the same length (got ${gate.length} and ${up.length})`);
  }
  const tokens = normalize?.tokens ?? 1;
  if (normalize && (gate.length % tokens !== 0 || normalize.stream.length !== tokens * normalize.hidden)) {
    throw new RangeError(`swigluCpu: gate must be [tokens, width] and normalize.stream [tokens, hidden] (got ${gate.length} and ${normalize.stream.length} elements for ${tokens} tokens)`);
  }
  const width = gate.length / tokens;
  const scales = new Float64Array(tokens).fill(1);
  if (normalize) {
    for (let t = 0; t < tokens; t++) {
      let sum = 0;
      for (let c = 0; c < normalize.hidden; c++) sum += normalize.stream[t * normalize.hidden + c] ** 2;
      scales[t] = 1 / Math.sqrt(sum / normalize.hidden + normalize.epsilon);
    }
  }
  const output = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const scale = scales[Math.floor(i / width)];
    const g = Math.fround(gate[i] * scale);
    output[i] = (g / (1 + Math.exp(-g))) * Math.fround(up[i] * scale);
  }
  return output;
}
