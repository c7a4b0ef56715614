/** Dense row-major f32 matrix: element (r, c) is data[r * cols + c]. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32); tests never use Math.random. */
export function createTestRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` seeded values, uniform in [-scale, scale), never exactly zero. */
export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const next = createTestRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let value = (next() * 2 - 1) * scale;
    if (value === 0) value = scale * 1e-3;
    out[i] = value;
  }
  return out;
}

/** A seeded random `[rows, cols]` matrix with entries uniform in [-scale, scale). */
export function randomMatrix(options: { rows: number; cols: number; seed: number; scale?: number }): Matrix {
  return {
    data: randomFloats(options.rows * options.cols, options.seed, options.scale ?? 1),
    rows: options.rows,
    cols: options.cols,
  };
}
