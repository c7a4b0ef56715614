/**
 * CPU twin of the add kernel: a new array `accumulator[i] + addend[i]` (f32).
 *
 * @throws {RangeError} when the lengths differ.
 */
export function addCpu(accumulator: Float32Array, addend: Float32Array): Float32Array {
  if (accumulator.length !== addend.length) {
    throw new RangeError(`addCpu: accumulator and addend must have the same length (got ${accumulator.length} and ${addend.length})`);
  }
  const output = new Float32Array(accumulator.length);
  for (let i = 0; i < accumulator.length; i++) output[i] = accumulator[i] + addend[i];
  return output;
}
