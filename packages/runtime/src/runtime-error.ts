/**
 * Stable identifiers of the failures a runtime caller may handle. Branch on `error.code`, never on the message.
 *
 * - `VPTQ_RUNTIME_BAD_WEIGHTS`: a tensor or linear layer does not have the shape the config promises.
 * - `VPTQ_RUNTIME_VOCAB_MISMATCH`: the tokenizer produced an id the model has no embedding for.
 * - `VPTQ_RUNTIME_NOT_FINITE`: the model produced NaN or ±Infinity logits (typically a broken quantization).
 */
export type LlamaRuntimeErrorCode = 'VPTQ_RUNTIME_BAD_WEIGHTS' | 'VPTQ_RUNTIME_VOCAB_MISMATCH' | 'VPTQ_RUNTIME_NOT_FINITE';

/** Structured context of a {@link LlamaRuntimeError}. */
export interface LlamaRuntimeErrorDetails {
  /** Hugging Face tensor name at fault (`model.layers.3.mlp.up_proj.weight`), when one is. */
  readonly tensor?: string;
  /** Decoder layer at fault, when one is. */
  readonly layer?: number;
  /** Token position at fault (from the start of the story or sequence), when one is. */
  readonly position?: number;
  readonly cause?: unknown;
}

/**
 * A model that cannot run as asked: weights whose shapes disagree with the config, token ids outside the
 * vocabulary, or a forward pass that produced non-finite logits.
 */
export class LlamaRuntimeError extends Error {
  override readonly name = 'LlamaRuntimeError';
  readonly code: LlamaRuntimeErrorCode;
  readonly tensor: string | undefined;
  readonly layer: number | undefined;
  readonly position: number | undefined;

  constructor(code: LlamaRuntimeErrorCode, message: string, details: LlamaRuntimeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.tensor = details.tensor;
    this.layer = details.layer;
    this.position = details.position;
  }
}
