/** The seed every sampler uses unless told otherwise, so the same call gives the same text. */
export const defaultSeed = 0x5eed;

/**
 * A seeded generator of uniform numbers in [0, 1) with 32 random bits each: xoshiro128** (Blackman & Vigna
 * 2018), its 128-bit state filled from the seed by splitmix32, so nearby seeds give unrelated streams.
 *
 * @param seed - Any integer; only its low 32 bits are used. Default {@link defaultSeed}.
 * @throws {RangeError} if `seed` is not an integer.
 */
export function createRandom(seed: number = defaultSeed): () => number {
  if (!Number.isInteger(seed)) throw new RangeError(`createRandom: seed must be an integer (got ${seed})`);
  let mix = seed >>> 0;
  const splitmix = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  // An all-zero state is the one fixed point of xoshiro; splitmix32 cannot produce it, but guard anyway.
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const shifted = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= shifted;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
