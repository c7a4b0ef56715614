/** How {@link sampleToken} picks a token. */
export interface SamplingOptions {
  /** Softmax temperature; 0 picks the argmax (ties go to the lowest id). Default 0. */
  readonly temperature?: number;
  /**
   * Nucleus sampling: draw only from the most likely tokens whose probabilities sum just past `topP`
   * (as llama2.c `sample_topp`). 1 (the default) or more disables it.
   */
  readonly topP?: number;
}

/**
 * Picks the next token from a row of logits: the argmax at temperature 0, otherwise a draw from
 * `softmax(logits / temperature)`, restricted to the top-p nucleus when `topP < 1`.
 *
 * @param logits - `[vocabSize]` f32 logits of one position.
 * @param random - Uniform [0, 1) generator (see `createRandom`); not called at temperature 0.
 * @returns A token id in `[0, vocabSize)`.
 * @throws {RangeError} if `logits` is empty, `temperature` is negative or `topP` is not positive.
 */
export function sampleToken(logits: Float32Array, options: SamplingOptions, random: () => number): number {
  const { temperature = 0, topP = 1 } = options;
  if (logits.length === 0) throw new RangeError('sampleToken: logits must not be empty');
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`sampleToken: temperature must be a finite number ≥ 0 (got ${temperature})`);
  }
  if (!(topP > 0)) throw new RangeError(`sampleToken: topP must be > 0 (got ${topP})`);
  if (temperature === 0) return argmax(logits);

  const count = logits.length;
  let max = -Infinity;
  for (let i = 0; i < count; i++) if (logits[i] > max) max = logits[i];
  const probabilities = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const weight = Math.exp((logits[i] - max) / temperature);
    probabilities[i] = weight;
    total += weight;
  }
  for (let i = 0; i < count; i++) probabilities[i] /= total;
  const coin = random();
  return topP < 1 ? drawFromNucleus(probabilities, topP, coin) : drawFrom(probabilities, coin);
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function drawFrom(probabilities: Float64Array, coin: number): number {
  let cumulative = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cumulative += probabilities[i];
    if (coin < cumulative) return i;
  }
  return probabilities.length - 1; // rounding left the total a hair below the coin
}

function drawFromNucleus(probabilities: Float64Array, topP: number, coin: number): number {
  // Tokens below this probability can never be in the nucleus (llama2.c's pre-filter), which keeps the sort short.
  const cutoff = (1 - topP) / Math.max(1, probabilities.length - 1);
  const candidates: number[] = [];
  for (let i = 0; i < probabilities.length; i++) if (probabilities[i] >= cutoff) candidates.push(i);
  candidates.sort((left, right) => probabilities[right] - probabilities[left] || left - right);
  let kept = candidates.length;
  let mass = 0;
  for (let i = 0; i < candidates.length; i++) {
    mass += probabilities[candidates[i]];
    if (mass > topP) {
      kept = i + 1;
      break;
    }
  }
  const target = coin * mass;
  let cumulative = 0;
  for (let i = 0; i < kept; i++) {
    cumulative += probabilities[candidates[i]];
    if (target < cumulative) return candidates[i];
  }
  return candidates[kept - 1];
}
