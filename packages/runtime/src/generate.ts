import type { Tokenizer } from '@vptq/loader';

import { createRandom } from '@vptq/kmeans';
import type { LanguageModel, SyncLanguageModel } from './language-model';
import { runModelProgram } from './run-model-program';
import type { ModelProgram } from './run-model-program';
import { LlamaRuntimeError } from './runtime-error';
import { sampleToken } from './sample-token';

/** The sampler's seed unless told otherwise, so the same call gives the same text. */
const defaultSeed = 0x5eed;

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Text to continue; encoded with one BOS in front. Default `''` (start from BOS alone). */
  readonly prompt?: string;
  /** Most tokens to sample after the prompt. Default: until the context is full. */
  readonly maxTokens?: number;
  /** Softmax temperature; 0 is greedy argmax with ties to the lowest id. Default 0. */
  readonly temperature?: number;
  /** Nucleus sampling mass, in (0, 1]; 1 disables it. Default 1. */
  readonly topP?: number;
  /** Seed of the sampler's generator (`createRandom` of `@vptq/kmeans`; unused at temperature 0). Default 0x5eed. */
  readonly seed?: number;
  /** Token ids that end generation without being emitted. Default `[tokenizer.bosId, tokenizer.eosId]`. */
  readonly stopTokens?: readonly number[];
  /** Called with every sampled token and the text it prints, as it is produced. */
  readonly onToken?: (token: number, piece: string) => void;
}

/** What {@link generate} produced. */
export interface GenerateResult {
  /**
   * The continuation (without the prompt), decoded as a whole so that characters spread over several byte
   * tokens come out intact; the `onToken` pieces joined where the tokenizer's decoding is not prefix-stable.
   */
  readonly text: string;
  /** Sampled token ids, without the prompt and without the stop token. */
  readonly tokens: number[];
  /** The encoded prompt, BOS included. */
  readonly promptTokens: number[];
  /** `'stop'`: a stop token came; `'length'`: maxTokens reached; `'context'`: the KV cache is full. */
  readonly stopReason: 'stop' | 'length' | 'context';
}

/**
 * Continues a prompt, as llama2.c `run.c` does: the prompt (with BOS) is prefilled in one batched forward
 * pass, then each sampled token is fed back one position at a time until `maxTokens`, a stop token (llama2.c
 * stops at BOS) or the end of the context. Text is printed with `tokenizer.decodeToken(previous, token)`.
 * llama2.c's `-n steps` counts positions including the BOS, so `-n 256` from an empty prompt is
 * `maxTokens: 256` here.
 *
 * @param model - A CPU model gives a result; a model whose `forward` returns Promises gives a Promise.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_VOCAB_MISMATCH when the prompt encodes to ids the model lacks.
 * @throws {RangeError} if an option is out of range or the prompt does not fit the context.
 */
export function generate(model: SyncLanguageModel, tokenizer: Tokenizer, options?: GenerateOptions): GenerateResult;
export function generate(
  model: LanguageModel,
  tokenizer: Tokenizer,
  options?: GenerateOptions,
): GenerateResult | Promise<GenerateResult>;
export function generate(
  model: LanguageModel,
  tokenizer: Tokenizer,
  options: GenerateOptions = {},
): GenerateResult | Promise<GenerateResult> {
  const { prompt = '', temperature = 0, topP = 1, seed = defaultSeed, onToken } = options;
  const stopTokens = new Set(options.stopTokens ?? [tokenizer.bosId, tokenizer.eosId]);
  if (typeof prompt !== 'string') throw new TypeError(`generate: prompt must be a string (got ${typeof prompt})`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`generate: temperature must be a finite number ≥ 0 (got ${temperature})`);
  }
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1] (got ${topP})`);
  const maxTokens = options.maxTokens ?? Infinity;
  if (!(maxTokens >= 0) || (maxTokens !== Infinity && !Number.isInteger(maxTokens))) {
    throw new RangeError(`generate: maxTokens must be a non-negative integer (got ${maxTokens})`);
  }
  const promptTokens = tokenizer.encode(prompt, { bos: true });
  for (const id of promptTokens) {
    if (!Number.isInteger(id) || id < 0 || id >= model.config.vocabSize) {
      throw new LlamaRuntimeError(
        'VPTQ_RUNTIME_VOCAB_MISMATCH',
        `generate: the tokenizer produced id ${id} for the prompt, outside the model's vocabulary of ${model.config.vocabSize}`,
      );
    }
  }
  if (promptTokens.length > model.contextLength) {
    throw new RangeError(
      `generate: prompt must fit the context (got ${promptTokens.length} tokens, contextLength ${model.contextLength})`,
    );
  }
  const random = createRandom(seed);
  const program = decode(model, tokenizer, promptTokens, maxTokens, stopTokens, (logits) =>
    sampleToken(logits, { temperature, topP }, random),
  onToken);
  return runModelProgram(model, program);
}

function* decode(
  model: LanguageModel,
  tokenizer: Tokenizer,
  promptTokens: number[],
  maxTokens: number,
  stopTokens: ReadonlySet<number>,
  pick: (logits: Float32Array) => number,
  onToken: ((token: number, piece: string) => void) | undefined,
): ModelProgram<GenerateResult> {
  const tokens: number[] = [];
  let text = '';
  let stopReason: GenerateResult['stopReason'] = 'length';
  if (maxTokens === 0) return { text: '', tokens, promptTokens, stopReason };
  model.reset();
  let logits = yield { tokens: promptTokens, startPosition: 0, options: {} };
  let position = promptTokens.length;
  let previous = promptTokens[promptTokens.length - 1];
  for (;;) {
    const next = pick(logits);
    if (stopTokens.has(next)) {
      stopReason = 'stop';
      break;
    }
    const piece = tokenizer.decodeToken(previous, next);
    tokens.push(next);
    text += piece;
    onToken?.(next, piece);
    if (tokens.length >= maxTokens) break;
    if (position >= model.contextLength) {
      stopReason = 'context';
      break;
    }
    logits = yield { tokens: [next], startPosition: position, options: {} };
    position++;
    previous = next;
  }
  return { text: decodeContinuation(tokenizer, promptTokens, tokens, text), tokens, promptTokens, stopReason };
}

function decodeContinuation(tokenizer: Tokenizer, promptTokens: number[], tokens: number[], pieces: string): string {
  if (tokens.length === 0) return '';
  const prompt = tokenizer.decode(promptTokens);
  const whole = tokenizer.decode([...promptTokens, ...tokens]);
  return whole.startsWith(prompt) ? whole.slice(prompt.length) : pieces;
}
