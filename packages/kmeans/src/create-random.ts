/**
 * A seeded uniform generator of doubles in [0, 1) with 53 random bits (sfc32 seeded through splitmix32).
 * Only integer operations are used, so the sequence is identical on every JavaScript engine. Every seeded
 * choice of the toolkit draws from it: k-means initialization, sampling in `generate`, synthetic benchmark data.
 *
 * @param seed - any safe integer (its low 53 bits are used).
 * @throws {RangeError} if `seed` is not a safe integer.
 */
export function createRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`createRandom: seed must be a safe integer (got ${seed})`);
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  let state = low ^ 0x9e3779b9;
  const mix = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state ^ high;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // sfc32 needs a few rounds before its output is well mixed.
  for (let i = 0; i < 12; i++) next32();
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}
