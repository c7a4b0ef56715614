import { assertArray, assertCount } from '../validate';

/** Shape of causal attention over a KV cache. */
export interface AttentionShape {
  /** Query positions in this call, ≥ 1. */
  readonly tokens: number;
  /** Query heads, a multiple of kvHeads. */
  readonly heads: number;
  /** Key/value heads (GQA); equal to heads for plain multi-head attention. */
  readonly kvHeads: number;
  readonly headDim: number;
  /** Absolute position of the first query; query t sees keys 0 … position + t. Default 0. */
  readonly position?: number;
  /**
   * Sliding-window attention: query t sees only the `window` keys ending at its own,
   * `max(0, position + t − window + 1) … position + t` (Mistral's `sliding_window`; transformers masks
   * `kv ≤ q − window`). Default: no window, every earlier key.
   */
  readonly window?: number;
  /** Score scale. Default 1/sqrt(headDim). */
  readonly scale?: number;
}

/** Validated sizes of an {@link AttentionShape}. */
export interface AttentionSizes {
  readonly tokens: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly position: number;
  readonly scale: number;
  /** Keys per query, its own included; 0 for no window. */
  readonly window: number;
}

/**
 * Validates an {@link AttentionShape} and fills in the defaults.
 *
 * @throws {RangeError} when a size is not a positive integer, heads is not a multiple of kvHeads, the scale is
 *   not finite or the window is not a positive 32-bit integer.
 */
export function resolveAttentionShape(fn: string, shape: AttentionShape): AttentionSizes {
  const tokens = assertCount(fn, 'shape.tokens', shape.tokens);
  const heads = assertCount(fn, 'shape.heads', shape.heads);
  const kvHeads = assertCount(fn, 'shape.kvHeads', shape.kvHeads);
  const headDim = assertCount(fn, 'shape.headDim', shape.headDim);
  const position = assertCount(fn, 'shape.position', shape.position ?? 0, 0);
  if (heads % kvHeads !== 0) {
    throw new RangeError(`${fn}: shape.heads must be a multiple of shape.kvHeads (got ${heads} and ${kvHeads})`);
  }
  const scale = shape.scale ?? 1 / Math.sqrt(headDim);
  if (!Number.isFinite(scale)) throw new RangeError(`${fn}: shape.scale must be finite (got ${scale})`);
  // The kernel takes the window as a u32 with 0 for none.
  const window = shape.window === undefined ? 0 : assertCount(fn, 'shape.window', shape.window, 1, 0xffffffff);
  return { tokens, heads, kvHeads, headDim, position, scale, window };
}

/**
 * {@link resolveAttentionShape}, then checks the arrays of a CPU twin against it: query `[tokens, heads, headDim]`,
 * keys and values `[capacity, kvHeads, headDim]` with capacity ≥ position + tokens.
 *
 * @throws {RangeError} naming the shape field or array that does not match.
 */
export function checkAttentionInputs(fn: string, query: Float32Array, keys: Float32Array, values: Float32Array, shape: AttentionShape): AttentionSizes {
  const sizes = resolveAttentionShape(fn, shape);
  const { tokens, heads, kvHeads, headDim, position } = sizes;
  assertArray(fn, 'query', query, Float32Array, tokens * heads * headDim, '[tokens, heads, headDim]');
  const rowLength = kvHeads * headDim;
  if (keys.length < (position + tokens) * rowLength || keys.length % rowLength !== 0 || values.length !== keys.length) {
    throw new RangeError(
      `${fn}: keys and values must be [capacity, kvHeads, headDim] with capacity ≥ ${position + tokens} (got ${keys.length} and ${values.length} elements)`,
    );
  }
  return sizes;
}

/**
 * CPU twin of the attention kernel, in f64: for query t of head h, softmax over keys 0 … position + t (the
 * last `window` of them with a window) of KV head h / (heads / kvHeads) of `scale · q·k`, times the values.
 *
 * @param query - `[tokens, heads, headDim]` f32.
 * @param keys - `[capacity, kvHeads, headDim]` f32 with capacity ≥ position + tokens.
 * @param values - same shape as keys.
 * @returns `[tokens, heads, headDim]` f32.
 * @throws {RangeError} when a length does not match the shape.
 */
export function attentionCpu(query: Float32Array, keys: Float32Array, values: Float32Array, shape: AttentionShape): Float32Array {
  const fn = 'attentionCpu';
  const { tokens, heads, kvHeads, headDim, position, scale, window } = checkAttentionInputs(fn, query, keys, values, shape);
  const rowLength = kvHeads * headDim;
  const output = new Float32Array(tokens * heads * headDim);
  const group = heads / kvHeads;
  for (let t = 0; t < tokens; t++) {
    const keyCount = position + t + 1;
    const firstKey = window === 0 ? 0 : Math.max(0, keyCount - window);
    for (let h = 0; h < heads; h++) {
      const kvOffset = Math.floor(h / group) * headDim;
      const queryBase = (t * heads + h) * headDim;
      const scores = new Float64Array(keyCount);
      let maximum = -Infinity;
      for (let k = firstKey; k < keyCount; k++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += query[queryBase + d] * keys[k * rowLength + kvOffset + d];
        scores[k] = dot * scale;
        maximum = Math.max(maximum, scores[k]);
      }
      let total = 0;
      for (let k = firstKey; k < keyCount; k++) {
        scores[k] = Math.exp(scores[k] - maximum);
        total += scores[k];
      }
      for (let d = 0; d < headDim; d++) {
        let sum = 0;
        for (let k = firstKey; k < keyCount; k++) sum += scores[k] * values[k * rowLength + kvOffset + d];
        output[queryBase + d] = sum / total;
      }
    }
  }
  return output;
}
