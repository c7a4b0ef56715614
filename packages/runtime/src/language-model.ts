import type { LinearInput, LinearName, LlamaConfig } from '@vptq/loader';

/** The input activations of one or more projections that read the same rows, seen during a forward pass. */
export interface LinearInputEvent {
  /** Decoder layer index, 0-based. */
  readonly layer: number;
  /** Which input of the layer this is (`decoderLinears` of @vptq/loader says which projections read it). */
  readonly group: LinearInput;
  /**
   * The projections that consume `input`: `['q_proj', 'k_proj', 'v_proj']`, `['o_proj']`,
   * `['gate_proj', 'up_proj']` or `['down_proj']`. Projections sharing an input share one event, so each
   * Hessian E[xxᵀ] is accumulated once.
   */
  readonly projections: readonly LinearName[];
  /** `[tokens, inFeatures]` f32; valid during the call only and must not be modified (copy to keep). */
  readonly input: Float32Array;
  readonly tokens: number;
  readonly inFeatures: number;
}

/** Receives {@link LinearInputEvent}s, for instance to accumulate Hessians for a quantizer. */
export type LinearInputCallback = (event: LinearInputEvent) => void;

/** Options of {@link LanguageModel.forward}. */
export interface ForwardOptions {
  /**
   * Return the logits of every position, `[tokens, vocabSize]`, instead of only the last one, `[vocabSize]`.
   * Default false (the classifier then runs on one row only).
   */
  readonly allLogits?: boolean;
  /** Called with the input of every projection of every layer. Default: none (no cost). */
  readonly onLinearInput?: LinearInputCallback;
}

/**
 * A causal language model with a KV cache, as the perplexity and generation drivers see it. CPU models
 * return logits directly; GPU models may return a Promise, and the drivers then return Promises too.
 */
export interface LanguageModel {
  readonly config: LlamaConfig;
  /** Positions the KV cache holds; a window may not reach past it. */
  readonly contextLength: number;
  /**
   * Runs a window of tokens at positions `startPosition … startPosition + tokens.length − 1`, attending to the
   * cached positions before it (causally within the window), and stores the window's keys and values.
   *
   * @param tokens - Token ids, each in `[0, vocabSize)`, at least one.
   * @param startPosition - At most the number of positions already cached since the last `reset()`.
   * @returns f32 logits: `[tokens.length, vocabSize]` with `allLogits`, else `[vocabSize]` of the last token.
   */
  forward(tokens: readonly number[], startPosition: number, options?: ForwardOptions): Float32Array | Promise<Float32Array>;
  /** Forgets every cached position, so the next window must start at position 0. */
  reset(): void;
}

/** A {@link LanguageModel} whose forward pass is synchronous (the CPU model). */
export interface SyncLanguageModel extends LanguageModel {
  forward(tokens: readonly number[], startPosition: number, options?: ForwardOptions): Float32Array;
}
