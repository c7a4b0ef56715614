import type { RopeLayout } from '@vptq/loader';

/** Geometry of a {@link applyRope} call. */
export interface RopeOptions {
  /** Heads per row (`numAttentionHeads` for q, `numKeyValueHeads` for k). */
  readonly heads: number;
  /** Width of one head, even. */
  readonly headDim: number;
  /** Absolute position of the first row. Default 0. */
  readonly startPosition?: number;
  /** Base of the rotation frequencies (config `ropeTheta`). Default 10000. */
  readonly theta?: number;
  /** Default `'interleaved'`. */
  readonly layout?: RopeLayout;
}

/** cos and sin of every (row, pair) angle of a window: `[tokens, headDim / 2]` f32 each. */
export interface RopeTable {
  readonly tokens: number;
  readonly pairs: number;
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/**
 * Rotates every head of every row in place by the rotary position embedding (Su et al. 2021): pair j of the
 * row at position p turns by the angle `p · theta^(-2j / headDim)`.
 *
 * @param values - `[tokens, heads × headDim]` f32 queries or keys, row-major; modified in place.
 * @returns `values`.
 * @throws {RangeError} if the geometry is not positive and even, or `values` is not a whole number of rows.
 */
export function applyRope(values: Float32Array, options: RopeOptions): Float32Array {
  const { heads, headDim, startPosition = 0, theta = 10000, layout = 'interleaved' } = options;
  if (!Number.isInteger(heads) || heads < 1) throw new RangeError(`applyRope: heads must be a positive integer (got ${heads})`);
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new RangeError(`applyRope: headDim must be a positive even integer (got ${headDim})`);
  }
  if (!Number.isInteger(startPosition) || startPosition < 0) {
    throw new RangeError(`applyRope: startPosition must be a non-negative integer (got ${startPosition})`);
  }
  if (!(theta > 1) || !Number.isFinite(theta)) throw new RangeError(`applyRope: theta must be a finite number > 1 (got ${theta})`);
  if (layout !== 'interleaved' && layout !== 'half') {
    throw new RangeError(`applyRope: layout must be 'interleaved' or 'half' (got ${String(layout)})`);
  }
  const width = heads * headDim;
  if (values.length % width !== 0) {
    throw new RangeError(`applyRope: values length must be a multiple of heads × headDim (got ${values.length} and ${width})`);
  }
  const table = createRopeTable(startPosition, values.length / width, headDim, theta);
  rotateWithTable(values, heads, headDim, table, layout);
  return values;
}

/**
 * Precomputes the rotation of `tokens` consecutive positions, once per forward pass, for all layers and both
 * q and k. Frequencies and angles are rounded to f32 like llama2.c (`powf`, `pos * freq`) and Hugging Face
 * (f32 `inv_freq`), so long positions lose exactly the precision the references lose.
 */
export function createRopeTable(startPosition: number, tokens: number, headDim: number, theta: number): RopeTable {
  const pairs = headDim / 2;
  const inverseFrequencies = new Float64Array(pairs);
  for (let j = 0; j < pairs; j++) inverseFrequencies[j] = Math.fround(1 / Math.fround(theta ** ((2 * j) / headDim)));
  const cos = new Float32Array(tokens * pairs);
  const sin = new Float32Array(tokens * pairs);
  for (let t = 0; t < tokens; t++) {
    const position = startPosition + t;
    for (let j = 0; j < pairs; j++) {
      const angle = Math.fround(position * inverseFrequencies[j]);
      cos[t * pairs + j] = Math.cos(angle);
      sin[t * pairs + j] = Math.sin(angle);
    }
  }
  return { tokens, pairs, cos, sin };
}

/** Applies a precomputed {@link RopeTable} to `[table.tokens, heads × headDim]` values in place. */
export function rotateWithTable(
  values: Float32Array,
  heads: number,
  headDim: number,
  table: RopeTable,
  layout: RopeLayout,
): void {
  const { tokens, pairs, cos, sin } = table;
  const width = heads * headDim;
  // Interleaved pairs sit one apart and advance by two; half-layout pairs sit headDim/2 apart and advance by one.
  const partner = layout === 'interleaved' ? 1 : pairs;
  const advance = layout === 'interleaved' ? 2 : 1;
  for (let t = 0; t < tokens; t++) {
    const angles = t * pairs;
    for (let head = 0; head < heads; head++) {
      const base = t * width + head * headDim;
      for (let j = 0; j < pairs; j++) {
        const first = base + j * advance;
        const second = first + partner;
        const x = values[first];
        const y = values[second];
        const c = cos[angles + j];
        const s = sin[angles + j];
        values[first] = x * c - y * s;
        values[second] = x * s + y * c;
      }
    }
  }
}
