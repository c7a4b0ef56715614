import type { RopeLayout, RopeScaling } from '@vptq/loader';

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
  /** Rescaling of the frequencies (config `ropeScaling`). Default none. */
  readonly scaling?: RopeScaling;
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
 * row at position p turns by the angle `p · f_j`, with `f_j` the {@link ropeInverseFrequencies} of theta and scaling.
 *
 * @param values - `[tokens, heads × headDim]` f32 queries or keys, row-major; modified in place.
 * @returns `values`.
 * @throws {RangeError} if the geometry is not positive and even, or `values` is not a whole number of rows.
 */
export function applyRope(values: Float32Array, options: RopeOptions): Float32Array {
  const { heads, headDim, startPosition = 0, theta = 10000, layout = 'interleaved', scaling } = options;
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
  const table = createRopeTable(startPosition, values.length / width, ropeInverseFrequencies(headDim, theta, scaling));
  rotateWithTable(values, heads, headDim, table, layout);
  return values;
}

/**
 * The inverse frequency of every RoPE pair, `headDim / 2` f32 values: computed here once for both the CPU decoder
 * and the GPU one, which hands them to the RoPE kernel. Plain, pair j turns at `1 / θ^(2j / headDim)`, rounded to
 * f32 as llama2.c (`powf`) and Hugging Face (f32 `inv_freq`) round it. With llama3 `scaling` those values are
 * then rescaled as transformers' `_compute_llama3_parameters` does (see `RopeScaling` of @vptq/loader): in f64
 * from the f32 plain values, rounded once, where transformers stays in f32 (a difference of about one f32 ulp).
 */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling?: RopeScaling): Float32Array {
  const pairs = headDim / 2;
  const frequencies = new Float32Array(pairs);
  for (let j = 0; j < pairs; j++) frequencies[j] = 1 / Math.fround(theta ** ((2 * j) / headDim));
  if (scaling === undefined) return frequencies;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: context } = scaling;
  const lowFrequencyWavelength = context / lowFreqFactor;
  const highFrequencyWavelength = context / highFreqFactor;
  for (let j = 0; j < pairs; j++) {
    const frequency = frequencies[j];
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength > lowFrequencyWavelength) {
      frequencies[j] = frequency / factor;
    } else if (wavelength >= highFrequencyWavelength) {
      const smooth = (context / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      frequencies[j] = ((1 - smooth) * frequency) / factor + smooth * frequency;
    }
  }
  return frequencies;
}

/**
 * Precomputes the rotation of `tokens` consecutive positions, once per forward pass, for all layers and both
 * q and k, at the f32 {@link ropeInverseFrequencies}. Angles are rounded to f32 like llama2.c (`pos * freq`) and
 * Hugging Face, so long positions lose exactly the precision the references lose.
 */
export function createRopeTable(startPosition: number, tokens: number, inverseFrequencies: Float32Array): RopeTable {
  const pairs = inverseFrequencies.length;
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
