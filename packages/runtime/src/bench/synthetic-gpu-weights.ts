import { allocateWeights, submitDispatches, uploadVqLayers, vqStackMismatch } from '@vptq/kernels-webgpu';
import { createBufferWithData } from '@vptq/kernels-webgpu/authoring';
import type { BufferBinding, GpuVqLayer, GpuWeights, KernelDispatch, VqIndexLayout, WeightFormat } from '@vptq/kernels-webgpu';
import { listLinearSpecs } from '@vptq/loader';
import type { LinearInput, LinearName, LinearSpec, LlamaConfig } from '@vptq/loader';
import { createRandom, randomPermutation } from '@vptq/kmeans';
import { f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { groupByInput } from '../group-by-input';
import { createFillRandomDispatch } from './fill-random';
import type { FillRandomMode } from './fill-random';
import { canStackRows, splitRows } from '../gpu/fuse-rows';
import type { DenseGpuLinear, GpuLinear } from '../gpu/gpu-linear';
import type { GpuLayerWeights, GpuLlamaWeights, StackedLinears } from '../gpu/gpu-llama-weights';
import { assembleLlamaWeights } from '../gpu/gpu-llama-weights';

type VptqLayerConfig = GpuVqLayer['config'];
type VptqLayerTensors = Parameters<typeof uploadVqLayers>[1][number]['tensors'];

/** How the decoder projections of a synthetic model are stored. */
export type SyntheticLinears =
  | { readonly kind: 'dense'; readonly format: WeightFormat }
  | {
      readonly kind: 'vptq';
      /** v. */
      readonly vectorLength: number;
      /** K, a power of two. */
      readonly numCentroids: number;
      /** Kr (a power of two), or 0 for none. Default 0. */
      readonly numResidualCentroids?: number;
    };

/** Options of {@link createSyntheticGpuWeights}. */
export interface SyntheticGpuWeightsOptions {
  readonly linears: SyntheticLinears;
  /** Storage of the embeddings and classifier. Default `'f16'`. */
  readonly embeddingFormat?: WeightFormat;
  /** Seed of every random value. Default 1. */
  readonly seed?: number;
  /** Index layout of the VPTQ layers (`lanes` for the lanes VQ-GEMV). Default `rows`. */
  readonly vqIndexLayout?: VqIndexLayout;
}

/**
 * A Llama model with random weights made on the GPU (hash fill, see `fill-random`), for decode benchmarks
 * at real sizes: a 7B model in f16 is 13.5 GB, which JS would generate and copy over the bus in tens of
 * seconds, and the GPU fills in milliseconds. Dense matrices are `±[s/4, s)` with s = 1/√in (activations stay
 * O(1) through many layers); VPTQ layers have random packed indices (every bit pattern is a valid index),
 * random f16 codebooks, a random column permutation and per-column norm, as published VPTQ models have.
 * The final norm's gain is 1 ± 0.1; the layers' gains are folded into q/k/v and gate/up (their norms hold ones,
 * `gainsFolded` is set) for both kinds. Nothing is zero. The projections have no biases, so the config must not give any.
 *
 * @throws {RangeError} when a VPTQ setting is invalid (see `uploadVqLayer`), a matrix exceeds the buffer limits or
 * `config.attentionBias` is set.
 */
export async function createSyntheticGpuWeights(device: GPUDevice, config: LlamaConfig, options: SyntheticGpuWeightsOptions): Promise<GpuLlamaWeights> {
  const specs = listLinearSpecs(config);
  // The decode benchmarks' shapes are bias-free; a biased config would silently run without its biases.
  const biased = specs.find((spec) => spec.bias);
  if (biased) throw new RangeError(`createSyntheticGpuWeights: synthetic weights have no biases, but the config gives ${biased.prefix} one (attentionBias)`);
  const seed = options.seed ?? 1;
  const random = createRandom(seed);
  const owned: { destroy(): void }[] = [];
  const fills: KernelDispatch[] = [];
  let stream = seed * 7919;
  const keep = <T extends { destroy(): void }>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  const fill: Fill = async (binding, words, mode, scale, offset, streamSeed) => {
    fills.push(await createFillRandomDispatch(device, binding, words, { mode, seed: streamSeed >>> 0, offset, scale }));
    // Submit in batches so that the uniform buffers of finished fills can be freed as we go.
    if (fills.length >= 64) flush();
  };
  const flush = (): void => {
    if (fills.length === 0) return;
    submitDispatches(device, 'synthetic-weights', fills);
    for (const dispatch of fills) dispatch.destroy();
    fills.length = 0;
  };
  const gainValues = (length: number): Float32Array => Float32Array.from({ length }, () => 1 + (random() * 2 - 1) * 0.1);
  const gains = (length: number): GPUBuffer => keep(createBufferWithData(device, 'norm', gainValues(length)));
  const ones = (length: number): GPUBuffer => keep(createBufferWithData(device, 'norm (folded)', new Float32Array(length).fill(1)));

  try {
    const hidden = config.hiddenSize;
    const embeddingFormat = options.embeddingFormat ?? 'f16';
    const embedTokens = keep(await syntheticMatrix(device, config.vocabSize, hidden, embeddingFormat, 1, fill, stream++));
    const lmHead = config.tieWordEmbeddings
      ? embedTokens
      : keep(await syntheticMatrix(device, config.vocabSize, hidden, embeddingFormat, 1 / Math.sqrt(hidden), fill, stream++));
    const zeros = new Map<string, Uint32Array | Uint16Array>();
    const layers: GpuLayerWeights[] = [];
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      const linears = {} as Record<LinearName, GpuLinear>;
      const stacked: { -readonly [K in keyof StackedLinears]: StackedLinears[K] } = {};
      const layerSpecs = specs.filter((candidate) => candidate.layer === layer);
      // The projections that read one input (decoderLinears' groups): q/k/v, o, gate/up, down.
      const groups = groupByInput(layerSpecs);
      if (options.linears.kind === 'dense') {
        const format = options.linears.format;
        for (const group of groups.filter((candidate) => candidate.length > 1)) {
          const rows = group.map((spec) => spec.outFeatures);
          const cols = group[0].inFeatures;
          if (!canStackRows(device, rows, cols, format)) continue;
          const total = rows.reduce((sum, count) => sum + count, 0);
          const whole = keep(await syntheticMatrix(device, total, cols, format, 1 / Math.sqrt(cols), fill, stream++));
          splitRows(device, whole, rows).forEach((weights, index) => {
            linears[group[index].name] = dense(group[index], weights);
          });
          stacked[group[0].input] = { ...dense(group[0], whole), outFeatures: total, byteLength: 0 };
        }
      }
      // As uploadLlamaWeights does for packed models, the RMSNorm gains are folded into packed q/k/v, gate/up.
      const folded: Partial<Record<LinearInput, Float32Array>> | undefined =
        options.linears.kind === 'vptq' ? { 'attention-input': gainValues(hidden), 'mlp-input': gainValues(hidden) } : undefined;
      if (options.linears.kind === 'vptq') {
        // Each group in shared buffers, as uploadLlamaWeights stores packed models: q/k/v and gate/up stack into
        // one dispatch each; o and down stand alone.
        for (const group of groups) {
          const key = group.length > 1 ? group[0].input : undefined;
          const gain = folded?.[group[0].input];
          const vqLayers = await syntheticVqLayers(device, group, options.linears, options.vqIndexLayout ?? 'rows', random, zeros, fill, stream, gain);
          stream += 3 * group.length;
          keep({ destroy: () => vqLayers[0].destroy() });
          vqLayers.forEach((layer, index) => {
            const spec = group[index];
            linears[spec.name] = { kind: 'vq', inFeatures: spec.inFeatures, outFeatures: spec.outFeatures, layer, byteLength: layer.byteLength, destroy() {} };
          });
          if (key && vqStackMismatch(vqLayers) === undefined) {
            const outFeatures = group.reduce((sum, spec) => sum + spec.outFeatures, 0);
            stacked[key] = { kind: 'vq-stack', inFeatures: group[0].inFeatures, outFeatures, layers: vqLayers, byteLength: 0, destroy() {} };
          }
        }
      }
      for (const spec of layerSpecs) {
        if (linears[spec.name]) continue;
        const scale = 1 / Math.sqrt(spec.inFeatures);
        if (options.linears.kind === 'dense') {
          linears[spec.name] = dense(spec, keep(await syntheticMatrix(device, spec.outFeatures, spec.inFeatures, options.linears.format, scale, fill, stream++)));
        }
      }
      // Both variants get the decode fusion the gains allow, so that their ratio compares like with like: packed
      // layers had the gains folded above; the random dense matrices stand for W·diag(g) as uploadLlamaWeights
      // folds them (foldDenseNormGains), with unit gains left in the norms for the prefill path.
      layers.push({ inputNorm: ones(hidden), postAttentionNorm: ones(hidden), linears, stacked, gainsFolded: { input: true, postAttention: true } });
      flush();
    }
    const norm = gains(hidden);
    flush();
    await device.queue.onSubmittedWorkDone();
    return assembleLlamaWeights(config, { embedTokens, layers, norm, lmHead }, owned);
  } catch (error) {
    for (const dispatch of fills) dispatch.destroy();
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** A dense projection over `weights` (which the caller owns). */
function dense(spec: LinearSpec, weights: GpuWeights): DenseGpuLinear {
  const byteLength = weights.windows.reduce((sum, window) => sum + window.binding.size, 0);
  return { kind: 'dense', inFeatures: spec.inFeatures, outFeatures: spec.outFeatures, weights, bias: undefined, byteLength, destroy() {} };
}

type Fill = (binding: BufferBinding, words: number, mode: FillRandomMode, scale: number, offset: number, streamSeed: number) => Promise<void>;

/** A `[rows, cols]` matrix as {@link GpuWeights}, in uploadWeights' windows, filled on the GPU from one stream. */
async function syntheticMatrix(
  device: GPUDevice,
  rows: number,
  cols: number,
  format: WeightFormat,
  scale: number,
  fill: Fill,
  seed: number,
): Promise<GpuWeights> {
  const weights = allocateWeights(device, { rows, cols, format }, { label: 'synthetic-weights' });
  try {
    const rowWords = (weights.rowStride * (format === 'f16' ? 2 : 4)) / 4;
    // Each window's words continue the stream at its first row, so the matrix is the same however it is cut.
    for (const window of weights.windows) await fill(window.binding, window.binding.size / 4, format, scale, window.rowStart * rowWords, seed);
  } catch (error) {
    weights.destroy();
    throw error;
  }
  return weights;
}

/**
 * Packed VPTQ layers (one group, no outliers, norm and perm on), uploaded together with zero indices and
 * codebooks, which the GPU then overwrites with random words: only the small per-column tensors are made in JS.
 * `gain` (the RMSNorm gain in front) is folded into the per-column norm.
 */
async function syntheticVqLayers(
  device: GPUDevice,
  specs: readonly LinearSpec[],
  linears: Extract<SyntheticLinears, { kind: 'vptq' }>,
  indexLayout: VqIndexLayout,
  random: () => number,
  zeros: Map<string, Uint32Array | Uint16Array>,
  fill: Fill,
  seed: number,
  gain?: Float32Array,
): Promise<GpuVqLayer[]> {
  const { vectorLength, numCentroids: centroids } = linears;
  const residualCentroids = linears.numResidualCentroids ?? 0;
  const indexBits = Math.log2(centroids);
  const residualBits = residualCentroids > 0 ? Math.log2(residualCentroids) : 0;
  const zero = <T extends Uint32Array | Uint16Array>(type: new (length: number) => T, length: number): T => {
    const key = `${type.name}:${length}`;
    let array = zeros.get(key);
    if (!array) zeros.set(key, (array = new type(length)));
    return array as T;
  };
  const f16 = (values: Float32Array) => ({ dtype: 'F16' as const, data: Uint16Array.from(values, f32ToF16Bits) });
  const sources = specs.map(({ inFeatures, outFeatures }) => {
    const scale = 1 / Math.sqrt(inFeatures);
    const config: VptqLayerConfig = {
      inFeatures,
      outFeatures,
      vectorLength,
      numCentroids: centroids,
      numResidualCentroids: residualCentroids,
      outlierVectorLength: 0,
      numOutlierCentroids: 0,
      groupNum: 1,
      groupSize: inFeatures,
      outlierSize: 0,
      enableNorm: true,
      enablePerm: true,
      indicesAsFloat: false,
      bias: false,
    };
    const perm = Uint16Array.from(randomPermutation(inFeatures, random));
    const indexWords = Math.ceil(outFeatures / vectorLength) * Math.ceil((inFeatures * (indexBits + residualBits)) / 32);
    const tensors: VptqLayerTensors = {
      indices: zero(Uint32Array, indexWords),
      centroids: { dtype: 'F16', data: zero(Uint16Array, centroids * vectorLength) },
      ...(residualCentroids > 0 ? { residualCentroids: { dtype: 'F16' as const, data: zero(Uint16Array, residualCentroids * vectorLength) } } : {}),
      perm,
      // The folded RMSNorm gain multiplies both (see foldNormGain).
      weightScale: f16(Float32Array.from({ length: inFeatures }, (_, c) => scale * (0.75 + 0.5 * random()) * (gain ? gain[c] : 1))),
      weightBias: f16(Float32Array.from({ length: inFeatures }, (_, c) => scale * 0.1 * (random() * 2 - 1) * (gain ? gain[c] : 1))),
    };
    return { config, tensors, indexWords };
  });
  const layers = uploadVqLayers(device, sources, { label: 'synthetic-vq-layer', indexLayout });
  try {
    for (const [index, layer] of layers.entries()) {
      const streamSeed = seed + 3 * index;
      // Every bit pattern is a valid index (K and Kr are powers of two), so random words make a valid layer;
      // the padding of each codebook entry gets random values too, which no kernel reads.
      await fill(layer.indices, sources[index].indexWords, 'u32', 1, 0, streamSeed);
      await fill(layer.centroids, (centroids * layer.centroidStride) / 2, 'f16', 1, 0, streamSeed + 1);
      if (layer.residualCentroids) await fill(layer.residualCentroids, (residualCentroids * layer.residualStride) / 2, 'f16', 0.25, 0, streamSeed + 2);
    }
  } catch (error) {
    layers[0].destroy();
    throw error;
  }
  return layers;
}
