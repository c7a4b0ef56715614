import { decoderLinears } from '@vptq/loader';
import type { LinearInput, LinearName, LlamaConfig } from '@vptq/loader';

import { attend } from './causal-attention';
import type { LinearInputCallback } from './language-model';
import type { LlamaLayerWeights } from './llama-weights';
import { rmsNorm } from './rms-norm';
import type { RopeTable } from './rope';
import { rotateWithTable } from './rope';

/** The projections that read each input of a layer, for {@link LinearInputCallback} events. */
const readers = {} as Record<LinearInput, LinearName[]>;
for (const linear of decoderLinears) (readers[linear.input] ??= []).push(linear.name);

/** Where one layer of a window runs: its position in the model and in the sequence, and its KV cache. */
export interface DecoderLayerStep {
  readonly config: LlamaConfig;
  /** Decoder layer index, 0-based (named in capture events). */
  readonly index: number;
  /** Sliding window of the layer, 0 for none (see `layerWindows`). */
  readonly window: number;
  /** The window's rotation, starting at `startPosition`. */
  readonly rope: RopeTable;
  readonly startPosition: number;
  /** `[contextLength, kvHeads × headDim]` f32 each; the window's rows are written at `startPosition`. */
  readonly keyCache: Float32Array;
  readonly valueCache: Float32Array;
  readonly capture?: LinearInputCallback;
}

/**
 * One Llama decoder layer over a window of `count` rows of the residual stream `x` (`[count, hidden]` f32,
 * updated in place): `x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))` with `n = rmsNorm(x)`,
 * then `x += down_proj(silu(gate_proj(m)) · up_proj(m))` with `m = rmsNorm(x)`. The CPU model runs it for every
 * layer; a layer-by-layer quantizer runs it for one layer over its calibration activations.
 */
export function runDecoderLayer(layer: LlamaLayerWeights, x: Float32Array, count: number, step: DecoderLayerStep): void {
  const { config, index, capture, startPosition } = step;
  const hidden = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const kvHeads = config.numKeyValueHeads;
  const headDim = config.headDim;
  const kvWidth = kvHeads * headDim;
  const eps = config.rmsNormEps;
  const { inputNorm, postAttentionNorm, linears } = layer;
  const normed = rmsNorm(x, inputNorm, eps);
  if (capture) emit(capture, index, 'attention-input', normed, count, hidden);
  const query = linears.q_proj.forward(normed, count);
  const key = linears.k_proj.forward(normed, count);
  const value = linears.v_proj.forward(normed, count);
  rotateWithTable(query, heads, headDim, step.rope, config.ropeLayout);
  rotateWithTable(key, kvHeads, headDim, step.rope, config.ropeLayout);
  step.keyCache.set(key, startPosition * kvWidth);
  step.valueCache.set(value, startPosition * kvWidth);
  const attended = attend(query, step.keyCache, step.valueCache, count, startPosition, heads, kvHeads, headDim, step.window);
  if (capture) emit(capture, index, 'attention-output', attended, count, heads * headDim);
  addInPlace(x, linears.o_proj.forward(attended, count));

  const normedForMlp = rmsNorm(x, postAttentionNorm, eps);
  if (capture) emit(capture, index, 'mlp-input', normedForMlp, count, hidden);
  const gate = linears.gate_proj.forward(normedForMlp, count);
  const up = linears.up_proj.forward(normedForMlp, count);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    gate[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
  if (capture) emit(capture, index, 'mlp-hidden', gate, count, config.intermediateSize);
  addInPlace(x, linears.down_proj.forward(gate, count));
}

function emit(capture: LinearInputCallback, layer: number, group: LinearInput, input: Float32Array, tokens: number, inFeatures: number): void {
  capture({ layer, group, projections: readers[group], input, tokens, inFeatures });
}

function addInPlace(target: Float32Array, addend: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}
