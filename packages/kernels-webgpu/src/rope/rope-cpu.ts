import { assertArray, assertCount } from '../validate';

/** Which elements of a head form the rotated pairs. */
export type RopeLayout = 'interleaved' | 'half';

/** Shape of a RoPE application. */
export interface RopeShape {
  readonly tokens: number;
  readonly heads: number;
  /** Even. */
  readonly headDim: number;
  /** Base θ of the frequencies `θ^(−2i/headDim)`. Default 10000. Unused when `inverseFrequencies` is given. */
  readonly theta?: number;
  /**
   * The `headDim / 2` f32 inverse frequencies to rotate by, in place of `θ^(−2i/headDim)`: how a caller applies
   * a frequency scaling (e.g. Llama 3's) computed once on its side.
   */
  readonly inverseFrequencies?: Float32Array;
  /** `'interleaved'`: pairs (2i, 2i+1) (Meta, llama2.c); `'half'`: pairs (i, i + headDim/2) (Hugging Face). Default `'interleaved'`. */
  readonly layout?: RopeLayout;
}

/**
 * The f32 inverse frequencies `θ^(−2i/headDim)`, i < headDim/2, computed in f64 then rounded once.
 *
 * @throws {RangeError} when headDim is not a positive even integer or θ is not > 1.
 */
export function ropeInverseFrequencies(headDim: number, theta = 10000): Float32Array {
  assertCount('ropeInverseFrequencies', 'headDim', headDim, 2);
  if (headDim % 2 !== 0) throw new RangeError(`ropeInverseFrequencies: headDim must be even (got ${headDim})`);
  if (!(theta > 1)) throw new RangeError(`ropeInverseFrequencies: theta must be > 1 (got ${theta})`);
  const frequencies = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) frequencies[i] = theta ** ((-2 * i) / headDim);
  return frequencies;
}

/**
 * The inverse frequencies a RoPE of `shape` rotates by: `shape.inverseFrequencies` when given (checked to hold
 * `headDim / 2` finite values), else {@link ropeInverseFrequencies} of headDim and θ.
 *
 * @throws {RangeError} when the given frequencies have another length or a non-finite value.
 */
export function resolveRopeFrequencies(fn: string, shape: RopeShape, headDim: number): Float32Array {
  if (shape.inverseFrequencies === undefined) return ropeInverseFrequencies(headDim, shape.theta ?? 10000);
  const frequencies = assertArray(fn, 'shape.inverseFrequencies', shape.inverseFrequencies, Float32Array, headDim / 2, '[headDim / 2]');
  const bad = frequencies.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new RangeError(`${fn}: shape.inverseFrequencies must be finite (got ${frequencies[bad]} at ${bad})`);
  return frequencies;
}

/**
 * CPU twin of the RoPE kernel: returns a rotated copy of `values` (`[tokens, heads, headDim]` f32) for
 * positions `position, position + 1, …`, at `shape.inverseFrequencies` or `θ^(−2i/headDim)`. The angle is the f32
 * product of position and f32 inverse frequency, like the kernel and the reference models; sin and cos of it are
 * exact (f64).
 *
 * @throws {RangeError} when the length does not match the shape or a size is invalid.
 */
export function ropeCpu(values: Float32Array, shape: RopeShape, position = 0): Float32Array {
  const fn = 'ropeCpu';
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const headDim = assertCount(fn, 'shape.headDim', shape.headDim, 2);
  assertCount(fn, 'position', position, 0);
  assertArray(fn, 'values', values, Float32Array, tokens * heads * headDim, '[tokens, heads, headDim]');
  if (headDim % 2 !== 0) throw new RangeError(`${fn}: shape.headDim must be even (got ${headDim})`);
  const inverseFrequencies = resolveRopeFrequencies(fn, shape, headDim);
  const interleaved = (shape.layout ?? 'interleaved') === 'interleaved';
  const out = new Float32Array(values);
  const pairs = headDim / 2;
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < pairs; i++) {
        const angle = Math.fround((position + t) * inverseFrequencies[i]);
        const first = interleaved ? base + 2 * i : base + i;
        const second = interleaved ? first + 1 : base + i + pairs;
        const a = values[first];
        const b = values[second];
        out[first] = a * Math.cos(angle) - b * Math.sin(angle);
        out[second] = a * Math.sin(angle) + b * Math.cos(angle);
      }
    }
  }
  return out;
}
