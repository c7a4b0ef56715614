import type { Tokenizer } from '@vptq/loader';

import type { LanguageModel, SyncLanguageModel } from '../language-model';
import { planEvaluation, scoreStories } from '../perplexity';
import type { EvaluationPlan } from '../perplexity';
import { runModelProgram } from '../run-model-program';
import type { ModelProgram } from '../run-model-program';

/** Options of {@link benchmarkEvalSpeed}. */
export interface EvalSpeedOptions {
  /** Stories of `text` to evaluate (both runs use the same ones). Default 50. */
  readonly maxStories?: number;
  /** As in `perplexity`. Default `config.maxPositionEmbeddings`. */
  readonly windowLength?: number;
}

/** One timed evaluation pass. */
export interface EvalSpeedRun {
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** The perplexity this pass measured; both passes must agree. */
  readonly perplexity: number;
}

/** Result of {@link benchmarkEvalSpeed}. */
export interface EvalSpeedResult {
  /** One forward pass per window (matrix–matrix products), as `perplexity` runs. */
  readonly batched: EvalSpeedRun;
  /** One forward pass per token (matrix–vector products), the plain decode loop. */
  readonly stepwise: EvalSpeedRun;
  /** `batched.tokensPerSecond / stepwise.tokensPerSecond`. */
  readonly speedup: number;
}

/**
 * Measures evaluation speed in scored tokens per second on the first `maxStories` stories of `text`, with
 * the perplexity protocol run batched (one forward pass per window) and, in the same call, token by token.
 * The first story is run both ways once before timing, so JIT compilation is not measured.
 *
 * @param model - A CPU model gives a result; a model whose `forward` returns Promises gives a Promise.
 * @throws As `perplexity`.
 */
export function benchmarkEvalSpeed(
  model: SyncLanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options?: EvalSpeedOptions,
): EvalSpeedResult;
export function benchmarkEvalSpeed(
  model: LanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options?: EvalSpeedOptions,
): EvalSpeedResult | Promise<EvalSpeedResult>;
export function benchmarkEvalSpeed(
  model: LanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options: EvalSpeedOptions = {},
): EvalSpeedResult | Promise<EvalSpeedResult> {
  const plan = planEvaluation('benchmarkEvalSpeed', model, tokenizer, text, {
    windowLength: options.windowLength,
    maxStories: options.maxStories ?? 50,
  });
  return runModelProgram(model, measure(model, plan));
}

function* measure(model: LanguageModel, plan: EvaluationPlan): ModelProgram<EvalSpeedResult> {
  const warmUp: EvaluationPlan = { ...plan, stories: plan.stories.slice(0, 1), totalTokens: plan.stories[0].length - 1 };
  yield* scoreStories(model, warmUp, false);
  yield* scoreStories(model, warmUp, true);
  const batched = yield* timed(scoreStories(model, plan, false));
  const stepwise = yield* timed(scoreStories(model, plan, true));
  return { batched, stepwise, speedup: batched.tokensPerSecond / stepwise.tokensPerSecond };
}

function* timed(program: ModelProgram<{ tokens: number; perplexity: number }>): ModelProgram<EvalSpeedRun> {
  const start = now();
  const { tokens, perplexity } = yield* program;
  const seconds = (now() - start) / 1000;
  return { tokens, seconds, tokensPerSecond: tokens / seconds, perplexity };
}

function now(): number {
  const clock = (globalThis as { performance?: { now(): number } }).performance;
  return clock ? clock.now() : Date.now();
}
