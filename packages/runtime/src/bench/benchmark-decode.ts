import { planAttentionSplits } from '@vptq/kernels-webgpu';
import type { VqGemvOptions } from '@vptq/kernels-webgpu';
import type { LlamaConfig } from '@vptq/loader';

import { createGpuModelFromWeights } from '../gpu/create-gpu-model';
import type { GpuLlamaModel } from '../gpu/create-gpu-model';
import { createSyntheticGpuWeights } from './synthetic-gpu-weights';
import type { SyntheticLinears } from './synthetic-gpu-weights';

/** Sizes of the synthetic decoder; the defaults are LLaMA-2-7B's. */
export interface DecodeBenchmarkShape {
  /** Default 32. */
  readonly layers: number;
  /** Default 4096. */
  readonly hiddenSize: number;
  /** Default 11008. */
  readonly intermediateSize: number;
  /** Default 32000. */
  readonly vocabSize: number;
  /** Default 32. */
  readonly heads: number;
  /** Default `heads` (no grouped-query attention, as LLaMA-2-7B). */
  readonly kvHeads: number;
}

/** LLaMA-2-7B's decoder shape. */
export const llama2DecodeShape: DecodeBenchmarkShape = {
  layers: 32,
  hiddenSize: 4096,
  intermediateSize: 11008,
  vocabSize: 32000,
  heads: 32,
  kvHeads: 32,
};

/** A shape small enough for a software adapter (lavapipe) to decode in well under a second per token. */
export const tinyDecodeShape: DecodeBenchmarkShape = {
  layers: 2,
  hiddenSize: 256,
  intermediateSize: 688,
  vocabSize: 1024,
  heads: 4,
  kvHeads: 4,
};

/** The VPTQ layouts of the quantized variant: all are 2 index bits per weight. */
export const decodeBenchmarkQuantizations = {
  /** v = 8, K = 65536 (16-bit indices): the published community models' layout. */
  'v8-k65536': { vectorLength: 8, numCentroids: 65536 },
  /** v = 6, K = 4096 (12-bit indices): the paper's LLaMA-2 2-bit setting. */
  'v6-k4096': { vectorLength: 6, numCentroids: 4096 },
  /** v = 8, two 256-entry codebooks (8 + 8 bits): small enough for the on-chip VQ-GEMV, stacks included. */
  'v8-k256-r256': { vectorLength: 8, numCentroids: 256, numResidualCentroids: 256 },
} as const;

/** Options of {@link benchmarkDecode}. */
export interface DecodeBenchmarkOptions {
  /** Decoder sizes; omitted fields take LLaMA-2-7B's. Use {@link tinyDecodeShape} on a software adapter. */
  readonly shape?: Partial<DecodeBenchmarkShape>;
  /** Layout of the quantized variant. Default `'v8-k65536'`. */
  readonly quantization?: keyof typeof decodeBenchmarkQuantizations;
  /** Variants to run, in order. Default both: `['fp16', 'vptq']`. */
  readonly variants?: readonly ('fp16' | 'vptq')[];
  /** Tokens decoded in the timed run. Default 128. */
  readonly tokens?: number;
  /** Tokens decoded before timing (pipelines, caches, clocks). Default 8. */
  readonly warmupTokens?: number;
  /** Decode steps in flight ahead of the last id read back (see `decodeGreedy`). Default 2. */
  readonly lookahead?: number;
  /**
   * Also time the same steps without readback: all dispatches, only the projections, only the rest, and the
   * GPU time of each step from timestamp queries when the device has them. Default true.
   */
  readonly breakdown?: boolean;
  /** Tuning of the fused VQ-GEMV. Default the kernel's. */
  readonly vqGemv?: VqGemvOptions;
  /**
   * Position of the first decoded token: a prompt of this many tokens is prefilled first (in 256-token chunks,
   * untimed), so the timed steps attend over a long context. Default 0.
   */
  readonly startPosition?: number;
  /** Splits of the KV cache per attention head (see `GpuModelOptions.attentionSplits`). Default planned. */
  readonly attentionSplits?: number;
  /** Seed of the synthetic weights. Default 1. */
  readonly seed?: number;
  /** Progress messages (building, warming up, timing). */
  readonly onProgress?: (message: string) => void;
}

/** Per-token times of the same decode steps without readback, to see what limits decoding. */
export interface DecodeBreakdown {
  /** Every dispatch of a step, submitted back to back (wall time ÷ tokens). */
  readonly allMsPerToken: number;
  /** Only the seven projections and the classifier. */
  readonly linearMsPerToken: number;
  /** Everything but them (norms, RoPE + KV append, attention, SwiGLU, adds, embedding, argmax). */
  readonly otherMsPerToken: number;
  /** CPU time to write the position uniforms, record, finish and submit one step (the CPU side of `allMsPerToken`). */
  readonly encodeMsPerToken: number;
  /** The parts of `encodeMsPerToken`: uniform writes, recording the dispatches, `finish()` + `submit()`. */
  readonly positionMsPerToken: number;
  readonly recordMsPerToken: number;
  readonly submitMsPerToken: number;
  /** GPU time of one step's compute pass from timestamp queries (median), when the device supports them. */
  readonly gpuMsPerToken: number | undefined;
  /**
   * Per kernel label (`gemv`, `vq-gemv`, `attention`, `rms-norm`, …): its dispatches in one step and the time of
   * a step that records only them (GPU timestamps when available, else wall time).
   */
  readonly kernels: readonly { readonly label: string; readonly dispatches: number; readonly msPerToken: number }[];
}

/** One measured variant of {@link benchmarkDecode}. */
export interface DecodeBenchmarkRow {
  readonly variant: 'fp16' | 'vptq';
  /** e.g. `fp16` or `vptq v8-k65536 (2 index bits)`. */
  readonly label: string;
  /** Tokens decoded in the timed run. */
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  readonly msPerToken: number;
  /** Bytes of every GPU buffer the model allocated (weights, KV cache, activations, readback). */
  readonly gpuMemoryBytes: number;
  readonly weightBytes: number;
  /** Bits per weight of the decoder projections as stored on the GPU (indices, codebooks, norm, perm). */
  readonly linearBitsPerWeight: number;
  /** Compute dispatches in one decode submit. */
  readonly dispatchesPerToken: number;
  /** Splits of the KV cache per attention head (1: no combine dispatch). */
  readonly attentionSplits: number;
  /** Position of the first decoded token. */
  readonly startPosition: number;
  /** Seconds to build the synthetic weights and the decoder. */
  readonly setupSeconds: number;
  readonly breakdown: DecodeBreakdown | undefined;
}

/** Result of {@link benchmarkDecode}. */
export interface DecodeBenchmarkResult {
  readonly shape: DecodeBenchmarkShape;
  readonly rows: readonly DecodeBenchmarkRow[];
  /** `vptq.tokensPerSecond / fp16.tokensPerSecond` when both ran. */
  readonly speedup: number | undefined;
}

/**
 * Measures greedy decode speed of a LLaMA-2-7B-shaped model with synthetic random weights made on the GPU,
 * in two variants built and measured one after the other in the same run: fp16 dense projections (the f16
 * GEMV) and 2-bit VPTQ projections (fused VQ-GEMV); embeddings and classifier are f16 in both. Each token is
 * one submit (embedding → 32 layers → classifier → argmax), the chosen id feeds the next step on the GPU and
 * is read back `lookahead` steps later, as `decodeGreedy` does. Only one variant is resident at a time.
 *
 * @throws {RangeError} for bad options; GPU errors (out of memory) pass through.
 */
export async function benchmarkDecode(device: GPUDevice, options: DecodeBenchmarkOptions = {}): Promise<DecodeBenchmarkResult> {
  const fn = 'benchmarkDecode';
  const shape = resolveShape(fn, options.shape);
  const tokens = positiveInteger(fn, 'tokens', options.tokens ?? 128);
  const warmupTokens = positiveInteger(fn, 'warmupTokens', options.warmupTokens ?? 8, 0);
  const quantizationName = options.quantization ?? 'v8-k65536';
  const quantization = decodeBenchmarkQuantizations[quantizationName];
  if (!quantization) throw new RangeError(`${fn}: options.quantization must be one of ${Object.keys(decodeBenchmarkQuantizations).join(', ')} (got ${String(quantizationName)})`);
  const variants = options.variants ?? ['fp16', 'vptq'];
  if (variants.length === 0 || variants.some((variant) => variant !== 'fp16' && variant !== 'vptq')) {
    throw new RangeError(`${fn}: options.variants must list 'fp16' and/or 'vptq' (got ${JSON.stringify(variants)})`);
  }
  const breakdown = options.breakdown ?? true;
  const progress = options.onProgress ?? (() => undefined);
  const config: LlamaConfig = {
    modelType: 'llama',
    hiddenSize: shape.hiddenSize,
    intermediateSize: shape.intermediateSize,
    numHiddenLayers: shape.layers,
    numAttentionHeads: shape.heads,
    numKeyValueHeads: shape.kvHeads,
    headDim: shape.hiddenSize / shape.heads,
    vocabSize: shape.vocabSize,
    maxPositionEmbeddings: 4096,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'half',
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  const startPosition = positiveInteger(fn, 'startPosition', options.startPosition ?? 0, 0);
  const contextLength = startPosition + warmupTokens + tokens + 1;
  const attentionSplits = options.attentionSplits ?? planAttentionSplits({ tokens: 1, heads: shape.heads, capacity: contextLength });

  const rows: DecodeBenchmarkRow[] = [];
  for (const variant of variants) {
    const label = variant === 'fp16' ? 'fp16' : `vptq ${quantizationName} (2 index bits)`;
    const linears: SyntheticLinears = variant === 'fp16' ? { kind: 'dense', format: 'f16' } : { kind: 'vptq', ...quantization };
    progress(`${label}: building synthetic weights`);
    const setupStart = now();
    // The lanes VQ-GEMV reads its own index layout, chosen at upload.
    const vqIndexLayout = options.vqGemv?.kernel === 'lanes' ? 'lanes' : 'rows';
    const weights = await createSyntheticGpuWeights(device, config, { linears, embeddingFormat: 'f16', seed: options.seed, vqIndexLayout });
    let model: GpuLlamaModel;
    try {
      // Decode alone needs one-token activations; a prefill to startPosition runs in chunks of 256.
      const prefillChunkTokens = startPosition > 0 ? Math.min(256, startPosition) : 1;
      model = await createGpuModelFromWeights(device, weights, { contextLength, prefillChunkTokens, vqGemv: options.vqGemv, attentionSplits }, true);
    } catch (error) {
      weights.destroy();
      throw error;
    }
    try {
      const setupSeconds = (now() - setupStart) / 1000;
      let linearBytes = 0;
      let linearWeights = 0;
      for (const layer of weights.layers) {
        for (const projection of Object.values(layer.linears)) {
          linearBytes += projection.byteLength;
          linearWeights += projection.inFeatures * projection.outFeatures;
        }
      }
      if (startPosition > 0) {
        progress(`${label}: prefilling ${startPosition} tokens`);
        await model.forwardArgmax(Array.from({ length: startPosition }, (_, i) => (i * 7919 + 1) % config.vocabSize), 0);
      }
      progress(`${label}: warming up`);
      if (warmupTokens > 0) await model.decodeGreedy(1, startPosition, { maxTokens: warmupTokens, lookahead: options.lookahead });
      progress(`${label}: decoding ${tokens} tokens`);
      // The timed steps rewrite the warm-up's rows from startPosition on; the prefilled rows before it stay.
      if (startPosition === 0) model.reset();
      const start = now();
      const result = await model.decodeGreedy(1, startPosition, { maxTokens: tokens, lookahead: options.lookahead });
      const seconds = (now() - start) / 1000;
      if (result.tokens.length !== tokens) throw new Error(`${fn}: decoded ${result.tokens.length} tokens instead of ${tokens} (${result.stopReason})`);
      let split: DecodeBreakdown | undefined;
      if (breakdown) {
        progress(`${label}: timing the breakdown`);
        split = await measureBreakdown(model, tokens, startPosition);
      }
      rows.push({
        variant,
        label,
        tokens,
        seconds,
        tokensPerSecond: tokens / seconds,
        msPerToken: (seconds * 1000) / tokens,
        gpuMemoryBytes: model.gpuMemoryBytes,
        weightBytes: model.weightBytes,
        linearBitsPerWeight: (linearBytes * 8) / linearWeights,
        dispatchesPerToken: model.dispatchesPerToken,
        attentionSplits,
        startPosition,
        setupSeconds,
        breakdown: split,
      });
    } finally {
      model.destroy();
    }
  }
  const fp16 = rows.find((row) => row.variant === 'fp16');
  const vptq = rows.find((row) => row.variant === 'vptq');
  return { shape, rows, speedup: fp16 && vptq ? vptq.tokensPerSecond / fp16.tokensPerSecond : undefined };
}

/** The same decode steps without readback, timed by `profileDecode`: all, the projections, the rest, each kernel. */
async function measureBreakdown(model: GpuLlamaModel, tokens: number, startPosition: number): Promise<DecodeBreakdown> {
  const steps = Math.min(tokens, 2048, model.contextLength - startPosition);
  const all = await model.profileDecode({ steps, startPosition });
  const linear = await model.profileDecode({ steps, startPosition, dispatches: 'linear' });
  const other = await model.profileDecode({ steps, startPosition, dispatches: 'other' });
  const kernels = [];
  for (const [label, dispatches] of model.dispatchesPerTokenByKernel) {
    const only = await model.profileDecode({ steps: Math.min(steps, 32), startPosition, dispatches: label });
    kernels.push({ label, dispatches, msPerToken: only.gpuMsPerStep ?? only.wallMsPerStep });
  }
  model.reset();
  return {
    allMsPerToken: all.wallMsPerStep,
    linearMsPerToken: linear.wallMsPerStep,
    otherMsPerToken: other.wallMsPerStep,
    encodeMsPerToken: all.encodeMsPerStep,
    positionMsPerToken: all.positionMsPerStep,
    recordMsPerToken: all.recordMsPerStep,
    submitMsPerToken: all.submitMsPerStep,
    gpuMsPerToken: all.gpuMsPerStep,
    kernels,
  };
}

function resolveShape(fn: string, overrides: Partial<DecodeBenchmarkShape> = {}): DecodeBenchmarkShape {
  const merged = { ...llama2DecodeShape, kvHeads: overrides.heads ?? llama2DecodeShape.kvHeads, ...overrides };
  for (const [name, value] of Object.entries(merged)) positiveInteger(fn, `shape.${name}`, value);
  if (merged.hiddenSize % merged.heads !== 0 || (merged.hiddenSize / merged.heads) % 2 !== 0) {
    throw new RangeError(`${fn}: shape.hiddenSize must be an even multiple of shape.heads (got ${merged.hiddenSize} and ${merged.heads})`);
  }
  if (merged.heads % merged.kvHeads !== 0) throw new RangeError(`${fn}: shape.kvHeads must divide shape.heads (got ${merged.kvHeads} and ${merged.heads})`);
  return merged;
}

function positiveInteger(fn: string, name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${fn}: options.${name} must be an integer ≥ ${min} (got ${value})`);
  return value;
}

function now(): number {
  return performance.now();
}
