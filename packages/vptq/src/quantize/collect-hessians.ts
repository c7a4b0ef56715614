import { accumulateHessian, createHessianAccumulator, finalizeHessian } from '@vptq/hessian';
import type { FinalizedHessian, HessianAccumulator } from '@vptq/hessian';
import { listLinearSpecs } from '@vptq/loader';
import type { LinearInput, Tokenizer } from '@vptq/loader';
import type { SyncLanguageModel } from '@vptq/runtime';

/**
 * The four inputs of a decoder layer whose Hessians VPTQ needs (spec §1.2: qkv, o, up+gate, down): a projection
 * uses the Hessian of its spec's `input` (`listLinearSpecs` of @vptq/loader), shared by every projection that
 * reads the same input.
 */
export type HessianGroup = LinearInput;

/** Options of {@link collectHessians}. */
export interface CollectHessiansOptions {
  /** Positions per calibration window (the KV cache restarts for each). Default the model's context length. */
  readonly windowLength?: number;
  /** Most calibration tokens to use. Default: the whole text. */
  readonly maxTokens?: number;
  /** Called after every window. */
  readonly onProgress?: (doneTokens: number, totalTokens: number) => void;
}

/** E[xxᵀ] for every (layer, group), from the full-precision model. */
export interface CollectedHessians {
  /** `hessians[layer][group]`: `[in, in]` f64. */
  readonly hessians: readonly Readonly<Record<HessianGroup, FinalizedHessian>>[];
  readonly tokens: number;
}

/**
 * Calibration tokens from a text: one BOS, then the text encoded as one stream (the calibration file's story
 * boundaries are not recoverable, see fixtures/tinystories-train-head), cut to `maxTokens`.
 */
export function encodeCalibration(tokenizer: Tokenizer, text: string, maxTokens = Number.POSITIVE_INFINITY): number[] {
  const tokens = tokenizer.encode(text, { bos: true });
  return tokens.length > maxTokens ? tokens.slice(0, maxTokens) : tokens;
}

/**
 * Runs the full-precision model over calibration windows and accumulates, in Float64, the second moment of the
 * input of every projection group of every layer. Every layer sees full-precision activations (spec §1.2), so
 * one pass collects all layers and the layers can then be quantized independently, in any order.
 *
 * @param tokens - Calibration token ids (see {@link encodeCalibration}); at least two windows' worth is not
 *   required, but fewer tokens than the widest layer's input width leaves H singular (the damping then decides).
 */
export function collectHessians(
  model: SyncLanguageModel,
  tokens: readonly number[],
  options: CollectHessiansOptions = {},
): CollectedHessians {
  const config = model.config;
  const windowLength = options.windowLength ?? Math.min(model.contextLength, config.maxPositionEmbeddings);
  const accumulators = Array.from({ length: config.numHiddenLayers }, () => ({}) as Record<HessianGroup, HessianAccumulator>);
  // One accumulator per input group, as wide as the projections that read it.
  for (const spec of listLinearSpecs(config)) accumulators[spec.layer][spec.input] ??= createHessianAccumulator(spec.inFeatures);
  for (let start = 0; start < tokens.length; start += windowLength) {
    const window = tokens.slice(start, start + windowLength);
    model.reset();
    model.forward(window, 0, {
      onLinearInput: (event) => accumulateHessian(accumulators[event.layer][event.group], event.input, event.tokens),
    });
    options.onProgress?.(Math.min(start + windowLength, tokens.length), tokens.length);
  }
  model.reset();
  const hessians = accumulators.map(
    (groups) => Object.fromEntries(Object.entries(groups).map(([group, accumulator]) => [group, finalizeHessian(accumulator)])) as Record<HessianGroup, FinalizedHessian>,
  );
  return { hessians, tokens: tokens.length };
}
