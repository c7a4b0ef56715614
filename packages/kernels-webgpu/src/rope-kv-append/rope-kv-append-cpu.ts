import { ropeCpu } from '../rope/rope-cpu';
import type { RopeLayout } from '../rope/rope-cpu';
import { assertArray, assertCount } from '../validate';

/** Shape of a fused RoPE + KV-cache append. */
export interface RopeKvAppendShape {
  /** Positions in this call, ≥ 1. */
  readonly tokens: number;
  /** Query heads. */
  readonly heads: number;
  /** Key/value heads (GQA); equal to heads for plain multi-head attention. */
  readonly kvHeads: number;
  /** Even. */
  readonly headDim: number;
  /** Base θ of the frequencies `θ^(−2i/headDim)`. Default 10000. Unused when `inverseFrequencies` is given. */
  readonly theta?: number;
  /** The `headDim / 2` f32 inverse frequencies to rotate by (a scaled RoPE), in place of θ's. */
  readonly inverseFrequencies?: Float32Array;
  /** Default `'interleaved'`. */
  readonly layout?: RopeLayout;
  /**
   * Multiply q, k and v by the inverse RMS of each token's `[hidden]` row of the residual stream,
   * `1 / sqrt(mean(x²) + epsilon)` (an RMSNorm without gain in front of q/k/v projections whose weights carry
   * the gain). Default: no scaling.
   */
  readonly normalize?: { readonly hidden: number; readonly epsilon: number };
}

/** Inputs of {@link ropeKvAppendCpu} (all f32). */
export interface RopeKvAppendInputs {
  /** `[tokens, heads, headDim]` query projection output. */
  readonly query: Float32Array;
  /** `[tokens, kvHeads, headDim]` key projection output, not yet rotated. */
  readonly keys: Float32Array;
  /** `[tokens, kvHeads, headDim]`. */
  readonly values: Float32Array;
  /** `[capacity, kvHeads, headDim]` key cache, capacity ≥ position + tokens. */
  readonly keyCache: Float32Array;
  /** Same shape as keyCache. */
  readonly valueCache: Float32Array;
  /** `[tokens, hidden]` residual stream, only with `shape.normalize`. */
  readonly stream?: Float32Array;
}

/**
 * CPU twin of the fused RoPE + KV-append kernel: returns the rotated query and copies of both caches with rows
 * `position … position + tokens − 1` replaced by the rotated keys and the values (each scaled by the stream
 * row's inverse RMS first, with `shape.normalize`). Rotation as {@link ropeCpu}; the inverse RMS in f64.
 *
 * @throws {RangeError} when a length does not match the shape, headDim is odd or the caches are too short.
 */
export function ropeKvAppendCpu(
  inputs: RopeKvAppendInputs,
  shape: RopeKvAppendShape,
  position: number,
): { query: Float32Array; keyCache: Float32Array; valueCache: Float32Array } {
  const fn = 'ropeKvAppendCpu';
  const sizes = resolveRopeKvAppendShape(fn, shape);
  const { tokens, heads, kvHeads, headDim } = sizes;
  assertCount(fn, 'position', position, 0);
  const kvWidth = kvHeads * headDim;
  assertArray(fn, 'inputs.query', inputs.query, Float32Array, tokens * heads * headDim, '[tokens, heads, headDim]');
  assertArray(fn, 'inputs.keys', inputs.keys, Float32Array, tokens * kvWidth, '[tokens, kvHeads, headDim]');
  assertArray(fn, 'inputs.values', inputs.values, Float32Array, tokens * kvWidth, '[tokens, kvHeads, headDim]');
  checkCaches(fn, inputs.keyCache.length, inputs.valueCache.length, kvWidth, position + tokens);
  const scales = new Float64Array(tokens).fill(1);
  if (shape.normalize) {
    const { hidden, epsilon } = shape.normalize;
    const stream = assertArray(fn, 'inputs.stream', inputs.stream as Float32Array, Float32Array, tokens * hidden, '[tokens, hidden]');
    for (let t = 0; t < tokens; t++) {
      let sum = 0;
      for (let c = 0; c < hidden; c++) sum += stream[t * hidden + c] ** 2;
      scales[t] = 1 / Math.sqrt(sum / hidden + epsilon);
    }
  }
  const scaled = (data: Float32Array, width: number): Float32Array => data.map((value, index) => value * scales[Math.floor(index / width)]);
  const rope = { tokens, headDim, theta: shape.theta, inverseFrequencies: shape.inverseFrequencies, layout: shape.layout };
  const query = ropeCpu(scaled(inputs.query, heads * headDim), { ...rope, heads }, position);
  const keys = ropeCpu(scaled(inputs.keys, kvWidth), { ...rope, heads: kvHeads }, position);
  const keyCache = inputs.keyCache.slice();
  const valueCache = inputs.valueCache.slice();
  keyCache.set(keys, position * kvWidth);
  valueCache.set(scaled(inputs.values, kvWidth), position * kvWidth);
  return { query, keyCache, valueCache };
}

/** Validated sizes of a {@link RopeKvAppendShape}. */
export interface RopeKvAppendSizes {
  readonly tokens: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/**
 * Validates the sizes of a {@link RopeKvAppendShape} (the frequencies are checked where they are resolved).
 *
 * @throws {RangeError} when a size is not a positive integer, headDim is odd or the normalization is invalid.
 */
export function resolveRopeKvAppendShape(fn: string, shape: RopeKvAppendShape): RopeKvAppendSizes {
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const kvHeads = assertCount(fn, 'shape.kvHeads', shape.kvHeads);
  const headDim = assertCount(fn, 'shape.headDim', shape.headDim, 2);
  if (headDim % 2 !== 0) throw new RangeError(`${fn}: shape.headDim must be even (got ${headDim})`);
  const layout = shape.layout ?? 'interleaved';
  if (layout !== 'interleaved' && layout !== 'half') throw new RangeError(`${fn}: shape.layout must be 'interleaved' or 'half' (got ${String(layout)})`);
  if (shape.normalize) {
    assertCount(fn, 'shape.normalize.hidden', shape.normalize.hidden);
    if (!(shape.normalize.epsilon >= 0)) throw new RangeError(`${fn}: shape.normalize.epsilon must be ≥ 0 (got ${shape.normalize.epsilon})`);
  }
  return { tokens, heads, kvHeads, headDim };
}

function checkCaches(fn: string, keyLength: number, valueLength: number, kvWidth: number, rows: number): void {
  if (keyLength < rows * kvWidth || keyLength % kvWidth !== 0 || valueLength !== keyLength) {
    throw new RangeError(
      `${fn}: keyCache and valueCache must be [capacity, kvHeads, headDim] with capacity ≥ ${rows} (got ${keyLength} and ${valueLength} elements)`,
    );
  }
}
