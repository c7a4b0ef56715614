import { assertCount } from '../validate';

/** Options of {@link sampleLogits}. */
export interface SampleLogitsOptions {
  /** Softmax temperature > 0; 0 means greedy (the argmax, ties to the lowest index). Default 1. */
  readonly temperature?: number;
  /** Nucleus mass in (0, 1]: sample among the most likely tokens whose probabilities sum to ≥ topP. Default 1. */
  readonly topP?: number;
  /**
   * The uniform draw in [0, 1) that picks the token, from the caller's seeded generator, so that the same
   * draws give the same text. Default 0.5.
   */
  readonly random?: number;
}

/**
 * Picks a token from one row of logits on the CPU after readback: temperature softmax (in f64, max-shifted),
 * then top-p truncation over tokens sorted by probability (ties by index), then inverse-CDF sampling with
 * `random`. Greedy decoding should use the GPU argmax instead and read back 4 bytes.
 *
 * @param logits - `[vocabulary]` f32.
 * @returns the chosen token index.
 * @throws {RangeError} when logits is empty, temperature < 0, topP outside (0, 1], or random outside [0, 1).
 */
export function sampleLogits(logits: Float32Array, options: SampleLogitsOptions = {}): number {
  const fn = 'sampleLogits';
  assertCount(fn, 'logits.length', logits.length);
  const temperature = options.temperature ?? 1;
  const topP = options.topP ?? 1;
  const random = options.random ?? 0.5;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`${fn}: temperature must be ≥ 0 (got ${temperature})`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`${fn}: topP must be in (0, 1] (got ${topP})`);
  if (!(random >= 0 && random < 1)) throw new RangeError(`${fn}: random must be in [0, 1) (got ${random})`);

  let maximum = -Infinity;
  let best = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > maximum) {
      maximum = logits[i];
      best = i;
    }
  }
  if (temperature === 0 || maximum === -Infinity || maximum === Infinity) return best;

  const probabilities = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const p = Number.isNaN(logits[i]) ? 0 : Math.exp((logits[i] - maximum) / temperature);
    probabilities[i] = p;
    total += p;
  }
  const order = Array.from({ length: logits.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < order.length && (kept === 0 || mass < topP * total)) mass += probabilities[order[kept++]];
  const target = random * mass;
  let cumulative = 0;
  for (let i = 0; i < kept; i++) {
    cumulative += probabilities[order[i]];
    if (target < cumulative) return order[i];
  }
  return order[kept - 1];
}
