import { listLinearSpecs } from '@vptq/loader';

import { runDecoderLayer } from './decoder-layer';
import type { ForwardOptions, SyncLanguageModel } from './language-model';
import type { LlamaWeights } from './llama-weights';
import { rmsNorm } from './rms-norm';
import { createRopeTable, ropeInverseFrequencies } from './rope';
import { LlamaRuntimeError } from './runtime-error';
import { layerWindows } from './layer-windows';
import { validateConfig } from './validate-config';

/** Options of {@link createCpuModel}. */
export interface CpuModelOptions {
  /** Positions the KV cache holds. Default `config.maxPositionEmbeddings`. */
  readonly contextLength?: number;
}

/** The reference CPU decoder: a {@link SyncLanguageModel} plus a single-token decode step. */
export interface CpuLlamaModel extends SyncLanguageModel {
  readonly weights: LlamaWeights;
  /** Positions cached since the last `reset()`; the next window may start at any position up to this one. */
  readonly cachedPositions: number;
  /**
   * Decodes one token at `position` (the next free cache slot, or earlier to rewind).
   * @returns `[vocabSize]` f32 logits.
   */
  step(token: number, position: number, options?: Pick<ForwardOptions, 'onLinearInput'>): Float32Array;
}

/**
 * Builds the Llama-family decoder on the CPU over `weights`, with a KV cache of `contextLength` positions
 * (`2 × layers × contextLength × kvHeads × headDim` f32, allocated here).
 *
 * Each layer computes `x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))` with
 * `n = rmsNorm(x)` (RoPE at `config.ropeScaling`'s frequencies, attention within `config.slidingWindow` in the
 * layers it names), then `x += down_proj(silu(gate_proj(m)) · up_proj(m))` with `m = rmsNorm(x)`, every
 * projection adding its bias where `decoderLinears` of @vptq/loader gives it one; the final
 * RMSNorm and the classifier give the logits. A window of tokens runs as matrix–matrix products with causal
 * attention inside the window, so prefill and perplexity need one call per window.
 *
 * @throws {RangeError} if the config is not runnable or `contextLength` is not a positive integer.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS when a tensor or linear disagrees with the config.
 */
export function createCpuModel(weights: LlamaWeights, options: CpuModelOptions = {}): CpuLlamaModel {
  const config = weights.config;
  validateConfig('createCpuModel', config);
  const contextLength = options.contextLength ?? config.maxPositionEmbeddings;
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new RangeError(`createCpuModel: contextLength must be a positive integer (got ${contextLength})`);
  }
  checkWeights(weights);

  const hidden = config.hiddenSize;
  const kvWidth = config.numKeyValueHeads * config.headDim;
  const vocab = config.vocabSize;
  const eps = config.rmsNormEps;
  const inverseFrequencies = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  const windows = layerWindows(config);
  const keyCache = weights.layers.map(() => new Float32Array(contextLength * kvWidth));
  const valueCache = weights.layers.map(() => new Float32Array(contextLength * kvWidth));
  let cachedPositions = 0;

  function forward(tokens: readonly number[], startPosition: number, forwardOptions: ForwardOptions = {}): Float32Array {
    if (!Array.isArray(tokens) || tokens.length === 0) {
      throw new RangeError(`forward: tokens must be a non-empty array of token ids (got ${describeTokens(tokens)})`);
    }
    const count = tokens.length;
    if (!Number.isInteger(startPosition) || startPosition < 0 || startPosition > cachedPositions) {
      throw new RangeError(
        `forward: startPosition must be an integer between 0 and the ${cachedPositions} cached positions (got ${startPosition})`,
      );
    }
    if (startPosition + count > contextLength) {
      throw new RangeError(
        `forward: startPosition + tokens must not exceed contextLength (got ${startPosition} + ${count} > ${contextLength})`,
      );
    }
    const x = new Float32Array(count * hidden);
    for (let t = 0; t < count; t++) {
      const token = tokens[t];
      if (!Number.isInteger(token) || token < 0 || token >= vocab) {
        throw new RangeError(`forward: tokens[${t}] must be an integer id in [0, ${vocab}) (got ${token})`);
      }
      x.set(weights.embedTokens.subarray(token * hidden, (token + 1) * hidden), t * hidden);
    }
    const capture = forwardOptions.onLinearInput;
    const rope = createRopeTable(startPosition, count, inverseFrequencies);
    // From here the cache rows of the window are being rewritten: should a layer throw, only the positions
    // before the window remain valid. Rows past the window (from a rewound sequence) are never read.
    cachedPositions = startPosition;

    for (let layer = 0; layer < weights.layers.length; layer++) {
      runDecoderLayer(weights.layers[layer], x, count, {
        config,
        index: layer,
        window: windows[layer],
        rope,
        startPosition,
        keyCache: keyCache[layer],
        valueCache: valueCache[layer],
        capture,
      });
    }

    cachedPositions = startPosition + count;
    if (forwardOptions.allLogits) return weights.lmHead.forward(rmsNorm(x, weights.norm, eps), count);
    const last = x.subarray((count - 1) * hidden);
    return weights.lmHead.forward(rmsNorm(last, weights.norm, eps), 1);
  }

  return {
    config,
    contextLength,
    weights,
    get cachedPositions(): number {
      return cachedPositions;
    },
    forward,
    step(token: number, position: number, stepOptions: Pick<ForwardOptions, 'onLinearInput'> = {}): Float32Array {
      return forward([token], position, { onLinearInput: stepOptions.onLinearInput });
    },
    reset(): void {
      cachedPositions = 0;
    },
  };
}

function checkWeights(weights: LlamaWeights): void {
  const { config } = weights;
  const fail = (tensor: string, rule: string, layer?: number): never => {
    throw new LlamaRuntimeError('VPTQ_RUNTIME_BAD_WEIGHTS', `createCpuModel: ${tensor} ${rule}`, { tensor, layer });
  };
  if (!(weights.embedTokens instanceof Float32Array) || weights.embedTokens.length !== config.vocabSize * config.hiddenSize) {
    fail('model.embed_tokens.weight', `must hold vocabSize × hiddenSize = ${config.vocabSize * config.hiddenSize} f32 values`);
  }
  if (!(weights.norm instanceof Float32Array) || weights.norm.length !== config.hiddenSize) {
    fail('model.norm.weight', `must hold hiddenSize = ${config.hiddenSize} f32 values`);
  }
  if (weights.lmHead.inFeatures !== config.hiddenSize || weights.lmHead.outFeatures !== config.vocabSize) {
    fail('lm_head.weight', `must be a Linear of vocabSize × hiddenSize = ${config.vocabSize} × ${config.hiddenSize}`);
  }
  if (weights.layers.length !== config.numHiddenLayers) {
    fail('model.layers', `must hold numHiddenLayers = ${config.numHiddenLayers} layers (got ${weights.layers.length})`);
  }
  weights.layers.forEach((layer, index) => {
    for (const name of ['input_layernorm', 'post_attention_layernorm'] as const) {
      const gain = name === 'input_layernorm' ? layer.inputNorm : layer.postAttentionNorm;
      if (!(gain instanceof Float32Array) || gain.length !== config.hiddenSize) {
        fail(`model.layers.${index}.${name}.weight`, `must hold hiddenSize = ${config.hiddenSize} f32 values`, index);
      }
    }
  });
  for (const spec of listLinearSpecs(config)) {
    const linear = weights.layers[spec.layer].linears[spec.name];
    if (!linear || typeof linear.forward !== 'function' || linear.outFeatures !== spec.outFeatures || linear.inFeatures !== spec.inFeatures) {
      const got = linear ? `${linear.outFeatures} × ${linear.inFeatures}` : 'missing';
      fail(spec.prefix, `must be a Linear of ${spec.outFeatures} × ${spec.inFeatures} (got ${got})`, spec.layer);
    }
  }
}

function describeTokens(tokens: unknown): string {
  return Array.isArray(tokens) ? `an array of ${tokens.length}` : String(tokens);
}
