/** Geometry of a {@link causalAttention} call. */
export interface CausalAttentionOptions {
  /** Query rows in the window, ≥ 1. */
  readonly tokens: number;
  /** Absolute position of the first query row; cache rows `0 … startPosition + tokens − 1` must be filled. */
  readonly startPosition: number;
  /** Query heads (config `numAttentionHeads`). */
  readonly heads: number;
  /** Key/value heads (config `numKeyValueHeads`), dividing `heads`; query head h reads kv head ⌊h / (heads / kvHeads)⌋. */
  readonly kvHeads: number;
  readonly headDim: number;
  /**
   * Sliding window (config `slidingWindow.size`): the query at position p sees only the `window` positions
   * `max(0, p − window + 1) … p`. Default: none, every position up to p.
   */
  readonly window?: number;
}

/**
 * Scaled dot-product attention of a window of queries over a key/value cache, causal and grouped-query:
 * the query at position p attends to cache rows 0…p (the last `options.window` of them with a sliding window)
 * with weights `softmax(q·k / sqrt(headDim))`.
 *
 * @param query - `[tokens, heads × headDim]` f32, already rotated by RoPE.
 * @param keys - `[rows ≥ startPosition + tokens, kvHeads × headDim]` f32 cache, rotated.
 * @param values - Same shape as `keys`.
 * @returns `[tokens, heads × headDim]` f32, the per-head weighted sums of values (before `o_proj`).
 * @throws {RangeError} if the geometry is inconsistent or the cache is too short.
 */
export function causalAttention(
  query: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  options: CausalAttentionOptions,
): Float32Array {
  const { tokens, startPosition, heads, kvHeads, headDim, window } = options;
  for (const [name, value] of [
    ['tokens', tokens],
    ['heads', heads],
    ['kvHeads', kvHeads],
    ['headDim', headDim],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`causalAttention: ${name} must be a positive integer (got ${value})`);
    }
  }
  if (!Number.isInteger(startPosition) || startPosition < 0) {
    throw new RangeError(`causalAttention: startPosition must be a non-negative integer (got ${startPosition})`);
  }
  if (window !== undefined && (!Number.isInteger(window) || window < 1)) {
    throw new RangeError(`causalAttention: window must be a positive integer or undefined (got ${window})`);
  }
  if (heads % kvHeads !== 0) {
    throw new RangeError(`causalAttention: kvHeads must divide heads (got kvHeads = ${kvHeads}, heads = ${heads})`);
  }
  if (query.length !== tokens * heads * headDim) {
    throw new RangeError(
      `causalAttention: query must hold tokens × heads × headDim values (got ${query.length}, expected ${tokens} × ${heads} × ${headDim})`,
    );
  }
  const kvWidth = kvHeads * headDim;
  const needed = (startPosition + tokens) * kvWidth;
  if (keys.length < needed || values.length < needed || keys.length % kvWidth !== 0 || keys.length !== values.length) {
    throw new RangeError(
      `causalAttention: keys and values must be equal [rows, kvHeads × headDim] caches with at least startPosition + tokens rows (got ${keys.length} and ${values.length} values, need ${startPosition + tokens} rows of ${kvWidth})`,
    );
  }
  return attend(query, keys, values, tokens, startPosition, heads, kvHeads, headDim, window ?? 0);
}

/**
 * {@link causalAttention} without argument checks, for the decoder's inner loop; `window` 0 means none.
 *
 * Query rows are taken four at a time as (token, head) pairs of one kv group, so each key and value row
 * loaded serves four queries: scores come from 4 × 2 (query, position) tiles, the weighted sums from
 * 4 × 4 (query, dimension) tiles, and positions a row may not see (after it, or before its window) get weight 0.
 */
export function attend(
  query: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  tokens: number,
  startPosition: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  window = 0,
): Float32Array {
  // The first position the query at `end − 1` may see, `end` being its exclusive bound.
  const windowStart = (end: number): number => (window === 0 ? 0 : Math.max(0, end - window));
  const width = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const groupSize = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float32Array(tokens * width);
  const positions = startPosition + tokens;
  const weights = new Float64Array(4 * positions);
  const inverses = new Float64Array(4);
  const rowCount = tokens * groupSize;
  for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
    const kvOffset = kvHead * headDim;
    for (let firstRow = 0; firstRow < rowCount; firstRow += 4) {
      const rows = Math.min(4, rowCount - firstRow);
      // Rows are (token, head-in-group) pairs, token-major, so a block's rows see nearly the same positions.
      const q0 = queryOffset(firstRow, groupSize, width, kvHead, headDim);
      // A short last block repeats its first query in the unused lanes; their sums are computed and dropped.
      const q1 = rows > 1 ? queryOffset(firstRow + 1, groupSize, width, kvHead, headDim) : q0;
      const q2 = rows > 2 ? queryOffset(firstRow + 2, groupSize, width, kvHead, headDim) : q0;
      const q3 = rows > 3 ? queryOffset(firstRow + 3, groupSize, width, kvHead, headDim) : q0;
      const visible = startPosition + Math.floor((firstRow + rows - 1) / groupSize) + 1;
      // Rows are token-major, so the block's first row has the earliest window.
      const first = windowStart(startPosition + Math.floor(firstRow / groupSize) + 1);
      let p = first;
      for (; p + 1 < visible; p += 2) {
        const k = p * kvWidth + kvOffset;
        const l = k + kvWidth;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (let i = 0; i < headDim; i++) {
          const key = keys[k + i];
          const next = keys[l + i];
          const x0 = query[q0 + i], x1 = query[q1 + i], x2 = query[q2 + i], x3 = query[q3 + i];
          s0 += x0 * key; s1 += x1 * key; s2 += x2 * key; s3 += x3 * key;
          t0 += x0 * next; t1 += x1 * next; t2 += x2 * next; t3 += x3 * next;
        }
        weights[p] = s0 * scale; weights[p + 1] = t0 * scale;
        weights[positions + p] = s1 * scale; weights[positions + p + 1] = t1 * scale;
        weights[2 * positions + p] = s2 * scale; weights[2 * positions + p + 1] = t2 * scale;
        weights[3 * positions + p] = s3 * scale; weights[3 * positions + p + 1] = t3 * scale;
      }
      for (; p < visible; p++) {
        const k = p * kvWidth + kvOffset;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < headDim; i++) {
          const key = keys[k + i];
          s0 += query[q0 + i] * key;
          s1 += query[q1 + i] * key;
          s2 += query[q2 + i] * key;
          s3 += query[q3 + i] * key;
        }
        weights[p] = s0 * scale;
        weights[positions + p] = s1 * scale;
        weights[2 * positions + p] = s2 * scale;
        weights[3 * positions + p] = s3 * scale;
      }
      // Each lane's softmax normaliser is applied once to its output sums instead of to every weight.
      inverses.fill(0);
      for (let r = 0; r < rows; r++) {
        const base = r * positions;
        const own = startPosition + Math.floor((firstRow + r) / groupSize) + 1;
        const start = windowStart(own);
        // Subtracting the row maximum keeps exp() in range.
        let max = -Infinity;
        for (let j = start; j < own; j++) if (weights[base + j] > max) max = weights[base + j];
        let total = 0;
        for (let j = start; j < own; j++) {
          const w = Math.exp(weights[base + j] - max);
          weights[base + j] = w;
          total += w;
        }
        inverses[r] = 1 / total;
        for (let j = first; j < start; j++) weights[base + j] = 0;
        for (let j = own; j < visible; j++) weights[base + j] = 0;
      }
      const n0 = inverses[0], n1 = inverses[1], n2 = inverses[2], n3 = inverses[3];
      const b1 = positions, b2 = 2 * positions, b3 = 3 * positions;
      let i = 0;
      for (; i + 3 < headDim; i += 4) {
        let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
        let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
        for (let p = first; p < visible; p++) {
          const v = p * kvWidth + kvOffset + i;
          const v0 = values[v], v1 = values[v + 1], v2 = values[v + 2], v3 = values[v + 3];
          const w0 = weights[p], w1 = weights[b1 + p], w2 = weights[b2 + p], w3 = weights[b3 + p];
          a00 += w0 * v0; a01 += w0 * v1; a02 += w0 * v2; a03 += w0 * v3;
          a10 += w1 * v0; a11 += w1 * v1; a12 += w1 * v2; a13 += w1 * v3;
          a20 += w2 * v0; a21 += w2 * v1; a22 += w2 * v2; a23 += w2 * v3;
          a30 += w3 * v0; a31 += w3 * v1; a32 += w3 * v2; a33 += w3 * v3;
        }
        out[q0 + i] = a00 * n0; out[q0 + i + 1] = a01 * n0; out[q0 + i + 2] = a02 * n0; out[q0 + i + 3] = a03 * n0;
        if (rows > 1) { out[q1 + i] = a10 * n1; out[q1 + i + 1] = a11 * n1; out[q1 + i + 2] = a12 * n1; out[q1 + i + 3] = a13 * n1; }
        if (rows > 2) { out[q2 + i] = a20 * n2; out[q2 + i + 1] = a21 * n2; out[q2 + i + 2] = a22 * n2; out[q2 + i + 3] = a23 * n2; }
        if (rows > 3) { out[q3 + i] = a30 * n3; out[q3 + i + 1] = a31 * n3; out[q3 + i + 2] = a32 * n3; out[q3 + i + 3] = a33 * n3; }
      }
      for (; i < headDim; i++) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let p = first; p < visible; p++) {
          const v = values[p * kvWidth + kvOffset + i];
          a0 += weights[p] * v; a1 += weights[b1 + p] * v; a2 += weights[b2 + p] * v; a3 += weights[b3 + p] * v;
        }
        out[q0 + i] = a0 * n0;
        if (rows > 1) out[q1 + i] = a1 * n1;
        if (rows > 2) out[q2 + i] = a2 * n2;
        if (rows > 3) out[q3 + i] = a3 * n3;
      }
    }
  }
  return out;
}

function queryOffset(row: number, groupSize: number, width: number, kvHead: number, headDim: number): number {
  const token = Math.floor(row / groupSize);
  const head = kvHead * groupSize + (row % groupSize);
  return token * width + head * headDim;
}
