/**
 * A uniformly random permutation of `0 … count − 1` (Fisher–Yates), drawn from `random` (e.g. `createRandom(seed)`),
 * so the same seed gives the same permutation everywhere.
 *
 * @param count - length, a non-negative integer.
 * @param random - uniform numbers in [0, 1).
 * @returns `[count]` u32, each of 0 … count − 1 once.
 * @throws {RangeError} if `count` is not a non-negative integer.
 */
export function randomPermutation(count: number, random: () => number): Uint32Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`randomPermutation: count must be a non-negative integer (got ${count})`);
  const permutation = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = permutation[i];
    permutation[i] = permutation[j];
    permutation[j] = swap;
  }
  return permutation;
}
