import type { Tokenizer } from '@vptq/loader';

import type { LanguageModel, SyncLanguageModel } from './language-model';
import { runModelProgram } from './run-model-program';
import type { ModelProgram } from './run-model-program';
import { LlamaRuntimeError } from './runtime-error';
import { splitStories } from './split-stories';

/** Options of {@link perplexity}. */
export interface PerplexityOptions {
  /**
   * Positions per window: the KV cache restarts every `windowLength` tokens of a story. Default
   * `config.maxPositionEmbeddings` (llama2.c `seq_len`); at most `model.contextLength`.
   */
  readonly windowLength?: number;
  /** Evaluate only the first this many stories. Default: all. */
  readonly maxStories?: number;
  /** Called after every window with the tokens scored so far and the total to score. */
  readonly onProgress?: (doneTokens: number, totalTokens: number) => void;
}

/** What {@link perplexity} measured. */
export interface PerplexityResult {
  /** `exp(nll)`: perplexity per token. */
  readonly perplexity: number;
  /** Tokens scored: every token of every story after its BOS. */
  readonly tokens: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  readonly nll: number;
  /** Total negative log-likelihood in bits divided by the UTF-8 bytes of the scored stories. */
  readonly bitsPerByte: number;
  /** UTF-8 bytes of the scored stories (trimmed, without separators). */
  readonly bytes: number;
  /** Stories scored. */
  readonly stories: number;
}

/**
 * Perplexity of `model` on `text` under the fixtures' protocol: the text is split on `<|endoftext|>`, each
 * story trimmed (empty ones dropped) and encoded with one BOS in front; each story runs in windows of
 * `windowLength` positions with the KV cache restarted at every window; every token after the BOS is scored,
 * the first token of a window by the last logits of the window before. Each window is one batched forward
 * pass with all logits.
 *
 * @param model - A CPU model gives a result; a model whose `forward` returns Promises gives a Promise.
 * @param tokenizer - Must produce ids below `config.vocabSize`.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_VOCAB_MISMATCH when the tokenizer produces an id the model lacks;
 * VPTQ_RUNTIME_NOT_FINITE when the model produces NaN or infinite logits.
 * @throws {RangeError} if the text has no story or an option is out of range.
 */
export function perplexity(model: SyncLanguageModel, tokenizer: Tokenizer, text: string, options?: PerplexityOptions): PerplexityResult;
export function perplexity(
  model: LanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options?: PerplexityOptions,
): PerplexityResult | Promise<PerplexityResult>;
export function perplexity(
  model: LanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options: PerplexityOptions = {},
): PerplexityResult | Promise<PerplexityResult> {
  const plan = planEvaluation('perplexity', model, tokenizer, text, options);
  return runModelProgram(model, scoreStories(model, plan, false, options.onProgress));
}

/** Encoded stories and the window length, validated. */
export interface EvaluationPlan {
  readonly stories: readonly (readonly number[])[];
  readonly windowLength: number;
  readonly totalTokens: number;
  readonly bytes: number;
}

/** Splits, encodes and checks `text` for {@link perplexity} and the speed benchmark. */
export function planEvaluation(
  fn: string,
  model: LanguageModel,
  tokenizer: Tokenizer,
  text: string,
  options: Pick<PerplexityOptions, 'windowLength' | 'maxStories'>,
): EvaluationPlan {
  const config = model.config;
  const windowLength = options.windowLength ?? config.maxPositionEmbeddings;
  if (!Number.isInteger(windowLength) || windowLength < 1 || windowLength > model.contextLength) {
    throw new RangeError(
      `${fn}: windowLength must be an integer between 1 and the model's contextLength ${model.contextLength} (got ${windowLength})`,
    );
  }
  const maxStories = options.maxStories ?? Infinity;
  if (!(maxStories >= 1) || (maxStories !== Infinity && !Number.isInteger(maxStories))) {
    throw new RangeError(`${fn}: maxStories must be a positive integer (got ${maxStories})`);
  }
  const texts = splitStories(text).slice(0, maxStories);
  if (texts.length === 0) throw new RangeError(`${fn}: text must hold at least one non-empty story (got ${text.length} characters)`);

  let totalTokens = 0;
  let bytes = 0;
  const stories = texts.map((story, index) => {
    const ids = tokenizer.encode(story, { bos: true });
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw new LlamaRuntimeError(
          'VPTQ_RUNTIME_VOCAB_MISMATCH',
          `${fn}: the tokenizer produced id ${id} in story ${index}, outside the model's vocabulary of ${config.vocabSize}`,
        );
      }
    }
    totalTokens += ids.length - 1;
    bytes += utf8ByteLength(story);
    return ids;
  });
  return { stories, windowLength, totalTokens, bytes };
}

/**
 * Scores every story of `plan`: one batched forward pass per window, or (`stepwise`) one forward pass per
 * token, which the speed benchmark uses as its baseline.
 */
export function* scoreStories(
  model: LanguageModel,
  plan: EvaluationPlan,
  stepwise: boolean,
  onProgress?: (doneTokens: number, totalTokens: number) => void,
): ModelProgram<PerplexityResult> {
  const { windowLength, totalTokens } = plan;
  const vocab = model.config.vocabSize;
  let totalNll = 0;
  let done = 0;
  for (let story = 0; story < plan.stories.length; story++) {
    const ids = plan.stories[story];
    for (let start = 0; start < ids.length - 1; start += windowLength) {
      // The story's last token predicts nothing, so it is never fed.
      const window = ids.slice(start, Math.min(start + windowLength, ids.length - 1));
      const targets = window.length;
      model.reset();
      if (stepwise) {
        for (let t = 0; t < targets; t++) {
          const logits = yield { tokens: [window[t]], startPosition: t, options: {} };
          totalNll += negativeLogLikelihood(logits, 0, vocab, ids[start + t + 1], story, start + t);
        }
      } else {
        const logits = yield { tokens: window, startPosition: 0, options: { allLogits: true } };
        for (let t = 0; t < targets; t++) {
          totalNll += negativeLogLikelihood(logits, t * vocab, vocab, ids[start + t + 1], story, start + t);
        }
      }
      done += targets;
      onProgress?.(done, totalTokens);
    }
  }
  const nll = totalTokens > 0 ? totalNll / totalTokens : 0;
  return {
    perplexity: Math.exp(nll),
    tokens: totalTokens,
    nll,
    bitsPerByte: totalNll / Math.LN2 / plan.bytes,
    bytes: plan.bytes,
    stories: plan.stories.length,
  };
}

function negativeLogLikelihood(
  logits: Float32Array,
  offset: number,
  vocab: number,
  target: number,
  story: number,
  position: number,
): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  const nll = max + Math.log(sum) - logits[offset + target];
  if (!Number.isFinite(nll)) {
    throw new LlamaRuntimeError(
      'VPTQ_RUNTIME_NOT_FINITE',
      `perplexity: the model produced non-finite logits at position ${position} of story ${story}`,
      { position },
    );
  }
  return nll;
}

function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3; // a lone surrogate is written as U+FFFD
    } else bytes += 3;
  }
  return bytes;
}
