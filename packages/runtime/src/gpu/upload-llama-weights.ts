import { maxVqGemvVectorLength, uploadVqLayers, uploadWeights, vqStackMismatch } from '@vptq/kernels-webgpu';
import { createBufferWithData } from '@vptq/kernels-webgpu/authoring';
import type { GpuWeights, VqIndexLayout, WeightFormat } from '@vptq/kernels-webgpu';
import { listLayerTensorNames, listLinearSpecs } from '@vptq/loader';
import type { LinearInput, LinearName, LinearSpec, ModelSource, VptqModelSource } from '@vptq/loader';
import { f32ToF16Bits } from '@vptq/pack-format/safetensors';

import { groupByInput } from '../group-by-input';
import { readChecked } from '../load-weights';
import type { WeightSource } from '../load-weights';
import { LlamaRuntimeError } from '../runtime-error';
import { validateConfig } from '../validate-config';
import { foldNormGain } from './fold-norm-gain';
import { canStackRows, splitRows } from './fuse-rows';
import type { DenseGpuLinear, GpuLinear, VqGpuLinear } from './gpu-linear';
import type { GpuLayerWeights, GpuLlamaWeights, StackedLinears } from './gpu-llama-weights';
import { assembleLlamaWeights, gpuWeightsByteLength } from './gpu-llama-weights';

/**
 * A model to upload: any {@link WeightSource}; when it also has `quantizedLayers` and `readQuantizedLayer`
 * (a `VptqModelSource` from @vptq/loader), the projections it lists are uploaded in their packed VPTQ form. When
 * it has `prefetch` (every `ModelSource` does), the model's tensors are prefetched part by part (the embeddings,
 * each decoder layer, the final norm and classifier) before they are read, so a model read through `fetch` or a
 * `Blob` holds one layer's bytes at a time.
 */
export type GpuWeightSource = WeightSource &
  Partial<Pick<ModelSource, 'prefetch'>> &
  Partial<Pick<VptqModelSource, 'quantizedLayers' | 'readQuantizedLayer'>>;

/** Options of {@link uploadLlamaWeights}. */
export interface UploadLlamaWeightsOptions {
  /** Storage of dense matrices (embeddings, classifier, unquantized projections). Default `'f32'`. */
  readonly weightFormat?: WeightFormat;
  /**
   * `'packed'` (default) keeps VPTQ projections packed and runs them with the fused VQ-GEMV; `'dense'`
   * uploads the source's dequantized weights instead (the same numbers the CPU model multiplies by).
   */
  readonly quantized?: 'packed' | 'dense';
  /**
   * Largest bytes of one dense weight window; matrices above it (a large lm_head) are split by rows into
   * several bindings. Default (and at most) the device's `maxStorageBufferBindingSize`.
   */
  readonly maxBindingBytes?: number;
  /**
   * Fold the RMSNorm gains into dense q/k/v and gate/up (columns times the gain, before the f16 rounding) where
   * every projection of the group is dense and has no bias, as packed groups always are: a decoded token then
   * skips both RMSNorm dispatches of the layer (RoPE + KV append and SwiGLU apply the inverse RMS). Default: with
   * f32 storage, where it changes the results by one f32 rounding per weight; f16 storage then rounds W·g instead
   * of W, which moves logits by ~1e-3 away from a CPU model of f16-rounded W, so there it is opt-in.
   * `uploadLayerWeights` never folds (a quantizer captures the normalized, gained inputs).
   */
  readonly foldDenseNormGains?: boolean;
  /**
   * Order of the packed index words on the GPU: `rows` (default; the streaming and on-chip VQ-GEMV) or `lanes`
   * (the lanes VQ-GEMV, see `uploadVqLayers`; not yet measured faster on a GPU). Groups of projections with
   * outliers, which the lanes kernel does not cover, stay `rows`.
   */
  readonly vqIndexLayout?: VqIndexLayout;
}

const fn = 'createGpuModel';

/**
 * Reads a model one tensor at a time and uploads it: embeddings, norms and dense projections as f32 (or f16
 * bit patterns), VPTQ projections as packed layers. Layers whose vectors are longer than the fused VQ-GEMV
 * handles (`maxVqGemvVectorLength`) fall back to their dequantized dense weights. Each part is prefetched first
 * where the source can (see {@link GpuWeightSource}).
 *
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS when a tensor or a packed layer disagrees with the config.
 * @throws {RangeError} when the config is not runnable or a tensor exceeds the device's buffer limits.
 */
export async function uploadLlamaWeights(device: GPUDevice, source: GpuWeightSource, options: UploadLlamaWeightsOptions = {}): Promise<GpuLlamaWeights> {
  const config = source.config;
  validateConfig(fn, config);
  const { format, packedNames } = resolveUpload(source, options, fn);
  const vqIndexLayout = resolveIndexLayout(options, fn);
  const hidden = config.hiddenSize;
  const owned: { destroy(): void }[] = [];
  const keep = <T extends { destroy(): void }>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  const matrix = (name: string, rows: number, cols: number): GpuWeights => {
    const values = readChecked(source, name, rows * cols, fn);
    const data = format === 'f16' ? Uint16Array.from(values, f32ToF16Bits) : values;
    return keep(uploadWeights(device, data, { rows, cols, format }, { label: name, maxBindingBytes: options.maxBindingBytes }));
  };
  const vector = (name: string, length: number): GPUBuffer => keep(createBufferWithData(device, name, readChecked(source, name, length, fn)));

  const prefetch = async (names: string[]): Promise<void> => {
    if (typeof source.prefetch === 'function') await source.prefetch(names);
  };
  try {
    await prefetch(['model.embed_tokens.weight']);
    const embedTokens = matrix('model.embed_tokens.weight', config.vocabSize, hidden);
    const layers: GpuLayerWeights[] = [];
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      await prefetch(listLayerTensorNames(config, layer));
      const settings = { format, packedNames, maxBindingBytes: options.maxBindingBytes, foldDenseGains: options.foldDenseNormGains ?? format === 'f32', vqIndexLayout, caller: fn };
      layers.push(uploadLayer(device, source, layer, settings, keep));
    }
    await prefetch(config.tieWordEmbeddings ? ['model.norm.weight'] : ['model.norm.weight', 'lm_head.weight']);
    const norm = vector('model.norm.weight', hidden);
    const lmHead = config.tieWordEmbeddings ? embedTokens : matrix('lm_head.weight', config.vocabSize, hidden);
    return assembleLlamaWeights(config, { embedTokens, layers, norm, lmHead }, owned);
  } catch (error) {
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** One decoder layer uploaded alone by {@link uploadLayerWeights}, owning its buffers. */
export interface UploadedLayerWeights extends GpuLayerWeights {
  /** Bytes of GPU memory the layer holds. */
  readonly byteLength: number;
  /** Frees every buffer of the layer. */
  destroy(): void;
}

/**
 * Uploads decoder layer `layer` of `source` alone, as {@link uploadLlamaWeights} uploads each layer (same
 * options, except that dense gains are never folded): what a layer-by-layer pass holds on the GPU at a time. It reads synchronously: on a source read through
 * `fetch` or a `Blob`, prefetch the layer's tensors first (`listLayerTensorNames` of @vptq/loader).
 *
 * @throws {RangeError} when the config is not runnable or `layer` is not one of its layers.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS as {@link uploadLlamaWeights}.
 */
export function uploadLayerWeights(device: GPUDevice, source: GpuWeightSource, layer: number, options: UploadLlamaWeightsOptions = {}): UploadedLayerWeights {
  const config = source.config;
  validateConfig('uploadLayerWeights', config);
  if (!Number.isInteger(layer) || layer < 0 || layer >= config.numHiddenLayers) {
    throw new RangeError(`uploadLayerWeights: layer must be an integer in [0, ${config.numHiddenLayers}) (got ${layer})`);
  }
  const { format, packedNames } = resolveUpload(source, options, 'uploadLayerWeights');
  const owned: { destroy(): void }[] = [];
  const keep = <T extends { destroy(): void }>(resource: T): T => {
    owned.push(resource);
    return resource;
  };
  try {
    const settings = { format, packedNames, maxBindingBytes: options.maxBindingBytes, foldDenseGains: false, vqIndexLayout: resolveIndexLayout(options, 'uploadLayerWeights'), caller: 'uploadLayerWeights' };
    const weights = uploadLayer(device, source, layer, settings, keep);
    let byteLength = weights.inputNorm.size + weights.postAttentionNorm.size;
    for (const linear of [...Object.values(weights.linears), ...Object.values(weights.stacked ?? {})]) byteLength += linear.byteLength;
    return {
      ...weights,
      byteLength,
      destroy() {
        for (const resource of owned) resource.destroy();
        owned.length = 0;
      },
    };
  } catch (error) {
    for (const resource of owned) resource.destroy();
    throw error;
  }
}

/** The checked storage format and the names of the projections to upload packed. */
function resolveUpload(source: GpuWeightSource, options: UploadLlamaWeightsOptions, caller: string): { format: WeightFormat; packedNames: Set<string> } {
  const format = options.weightFormat ?? 'f32';
  if (format !== 'f32' && format !== 'f16') throw new RangeError(`${caller}: options.weightFormat must be 'f32' or 'f16' (got ${String(format)})`);
  const quantized = options.quantized ?? 'packed';
  if (quantized !== 'packed' && quantized !== 'dense') {
    throw new RangeError(`${caller}: options.quantized must be 'packed' or 'dense' (got ${String(quantized)})`);
  }
  const packedNames = new Set(
    quantized === 'packed' && typeof source.readQuantizedLayer === 'function' ? (source.quantizedLayers ?? []).map((layer) => layer.name) : [],
  );
  return { format, packedNames };
}

/** The checked `vqIndexLayout` option. */
function resolveIndexLayout(options: UploadLlamaWeightsOptions, caller: string): VqIndexLayout {
  const layout = options.vqIndexLayout ?? 'rows';
  if (layout !== 'rows' && layout !== 'lanes') throw new RangeError(`${caller}: options.vqIndexLayout must be 'rows' or 'lanes' (got ${String(layout)})`);
  return layout;
}

/** How {@link uploadLayer} uploads: dense storage, the projections to keep packed, the binding cap. */
interface LayerUploadSettings {
  readonly format: WeightFormat;
  readonly packedNames: ReadonlySet<string>;
  readonly maxBindingBytes: number | undefined;
  /** Fold the norm gains into all-dense, bias-free q/k/v and gate/up groups (see `foldDenseNormGains`). */
  readonly foldDenseGains: boolean;
  /** Index layout of packed groups without outliers. */
  readonly vqIndexLayout: VqIndexLayout;
  /** The public function named in errors. */
  readonly caller: string;
}

/**
 * Uploads decoder layer `layer`: packed projections (grouped by shared input, their norm gain folded in where a
 * whole group is packed), then stacked or single dense ones, then the norm gains; every buffer goes to `keep`.
 */
function uploadLayer(
  device: GPUDevice,
  source: GpuWeightSource,
  layer: number,
  settings: LayerUploadSettings,
  keep: <T extends { destroy(): void }>(resource: T) => T,
): GpuLayerWeights {
  const { config } = source;
  const { format, packedNames } = settings;
  const hidden = config.hiddenSize;
  // Dense weights whose columns take the gain of the norm in front (see foldDenseNormGains), by tensor name.
  const denseGains = new Map<string, Float32Array>();
  const readWeight = (name: string, length: number): Float32Array => {
    const values = readChecked(source, name, length, settings.caller);
    const gain = denseGains.get(name);
    if (!gain) return values;
    const folded = new Float32Array(length);
    for (let i = 0; i < length; i++) folded[i] = values[i] * gain[i % gain.length];
    return folded;
  };
  const matrix = (name: string, rows: number, cols: number): GpuWeights => {
    const values = readWeight(name, rows * cols);
    const data = format === 'f16' ? Uint16Array.from(values, f32ToF16Bits) : values;
    return keep(uploadWeights(device, data, { rows, cols, format }, { label: name, maxBindingBytes: settings.maxBindingBytes }));
  };
  const vector = (name: string, length: number): GPUBuffer => keep(createBufferWithData(device, name, readChecked(source, name, length, settings.caller)));
  const layerSpecs = listLinearSpecs(config).filter((candidate) => candidate.layer === layer);
  // The projections that read one input (decoderLinears' groups): q/k/v, o, gate/up, down.
  const groups = groupByInput(layerSpecs);
  const linears = {} as Record<LinearName, GpuLinear>;
  const stacked: { -readonly [K in keyof StackedLinears]: StackedLinears[K] } = {};
  const gainName = (input: 'attention-input' | 'mlp-input'): string => `model.layers.${layer}.${normBefore[input]}.weight`;
  const folded = { 'attention-input': false, 'mlp-input': false };
  // Packed projections that share an input are uploaded into shared buffers, so that decode can run them as
  // one dispatch; when all of them are packed, the gain of the RMSNorm in front is folded into them (see
  // foldNormGain).
  for (const whole of groups) {
    const input = whole[0].input;
    const group = whole.filter((spec) => packedNames.has(spec.prefix));
    if (group.length === 0) continue;
    const normed = hasNormBefore(input);
    const gain = normed && group.length === whole.length ? readChecked(source, gainName(input), hidden, settings.caller) : undefined;
    const packed = uploadPacked(device, source, group, settings.vqIndexLayout, gain);
    if (!packed) continue;
    if (normed && gain !== undefined) folded[input] = true;
    keep({ destroy: () => packed[0].layer.destroy() });
    packed.forEach((linear, index) => (linears[group[index].name] = linear));
    if (whole.length > 1 && group.length === whole.length && vqStackMismatch(packed.map((linear) => linear.layer)) === undefined) {
      const layers = packed.map((linear) => linear.layer);
      stacked[input] = { kind: 'vq-stack', inFeatures: group[0].inFeatures, outFeatures: layers.reduce((sum, layer) => sum + layer.layout.outFeatures, 0), layers, byteLength: 0, destroy() {} };
    }
  }
  for (const group of groups) {
    const input = group[0].input;
    if (!settings.foldDenseGains || !hasNormBefore(input) || group.some((spec) => linears[spec.name] !== undefined || spec.bias)) continue;
    const gain = readChecked(source, gainName(input), hidden, settings.caller);
    for (const spec of group) denseGains.set(`${spec.prefix}.weight`, gain);
    folded[input] = true;
  }
  for (const group of groups) {
    if (group.length === 1 || group.some((spec) => linears[spec.name] !== undefined)) continue;
    // One GEMV adds one bias vector: the projections of a stack have a bias each or none.
    if (group.some((spec) => spec.bias !== group[0].bias)) continue;
    const rows = group.map((spec) => spec.outFeatures);
    if (!canStackRows(device, rows, group[0].inFeatures, format, settings.maxBindingBytes)) continue;
    stacked[group[0].input] = stackDense(device, group, format, readWeight, keep, linears);
  }
  for (const spec of layerSpecs) linears[spec.name] ??= keep(uploadDense(spec, matrix, vector));
  const gainBuffer = (input: 'attention-input' | 'mlp-input'): GPUBuffer =>
    folded[input] ? keep(createBufferWithData(device, `${gainName(input)} (folded)`, new Float32Array(hidden).fill(1))) : vector(gainName(input), hidden);
  return {
    inputNorm: gainBuffer('attention-input'),
    postAttentionNorm: gainBuffer('mlp-input'),
    linears,
    stacked,
    gainsFolded: { input: folded['attention-input'], postAttention: folded['mlp-input'] },
  };
}

/** The RMSNorm in front of an input, whose gain can be folded into the packed projections that read it. */
const normBefore = { 'attention-input': 'input_layernorm', 'mlp-input': 'post_attention_layernorm' } as const;

function hasNormBefore(input: LinearInput): input is keyof typeof normBefore {
  return Object.hasOwn(normBefore, input);
}

/**
 * Uploads `group` as one stacked matrix (and stacked bias), fills `linears` with views of its blocks and
 * returns the stacked projection.
 */
function stackDense(
  device: GPUDevice,
  group: readonly LinearSpec[],
  format: WeightFormat,
  read: (name: string, length: number) => Float32Array,
  keep: <T extends { destroy(): void }>(resource: T) => T,
  linears: Record<LinearName, GpuLinear>,
): DenseGpuLinear {
  const cols = group[0].inFeatures;
  const rows = group.map((spec) => spec.outFeatures);
  const total = rows.reduce((sum, count) => sum + count, 0);
  const data = new Float32Array(total * cols);
  let offset = 0;
  for (const spec of group) {
    data.set(read(`${spec.prefix}.weight`, spec.outFeatures * cols), offset);
    offset += spec.outFeatures * cols;
  }
  const label = group.map((spec) => spec.prefix).join('+');
  const whole = keep(uploadWeights(device, format === 'f16' ? Uint16Array.from(data, f32ToF16Bits) : data, { rows: total, cols, format }, { label }));
  const views = splitRows(device, whole, rows);
  const biases = group.map((spec) => (spec.bias ? read(`${spec.prefix}.bias`, spec.outFeatures) : undefined));
  let stackedBias: GPUBuffer | undefined;
  if (biases.every((bias) => bias !== undefined)) {
    const joined = new Float32Array(total);
    let at = 0;
    for (const bias of biases as Float32Array[]) {
      joined.set(bias, at);
      at += bias.length;
    }
    stackedBias = keep(createBufferWithData(device, `${label}.bias`, joined));
  }
  group.forEach((spec, index) => {
    const bias = biases[index] && keep(createBufferWithData(device, `${spec.prefix}.bias`, biases[index] as Float32Array));
    const weights = views[index];
    linears[spec.name] = {
      kind: 'dense',
      inFeatures: cols,
      outFeatures: spec.outFeatures,
      weights,
      bias,
      byteLength: weights.windows[0].binding.size + (bias?.size ?? 0),
      destroy() {},
    };
  });
  // The views account for the stacked weights; only the stacked bias is extra.
  return { kind: 'dense', inFeatures: cols, outFeatures: total, weights: whole, bias: stackedBias, byteLength: stackedBias?.size ?? 0, destroy() {} };
}

function uploadDense(
  spec: LinearSpec,
  matrix: (name: string, rows: number, cols: number) => GpuWeights,
  vector: (name: string, length: number) => GPUBuffer,
): DenseGpuLinear {
  const weights = matrix(`${spec.prefix}.weight`, spec.outFeatures, spec.inFeatures);
  const bias = spec.bias ? vector(`${spec.prefix}.bias`, spec.outFeatures) : undefined;
  return {
    kind: 'dense',
    inFeatures: spec.inFeatures,
    outFeatures: spec.outFeatures,
    weights,
    bias,
    byteLength: gpuWeightsByteLength(weights) + (bias?.size ?? 0),
    // The weights and bias were registered by matrix() and vector(); the model frees them.
    destroy() {},
  };
}

/**
 * The packed layers of `group`, uploaded together into shared buffers (the first owns them), with `gain`
 * folded into each when given, or undefined when the fused kernel cannot run one of them (the caller then
 * uploads the group dense).
 */
function uploadPacked(device: GPUDevice, source: GpuWeightSource, group: readonly LinearSpec[], indexLayout: VqIndexLayout, gain?: Float32Array): VqGpuLinear[] | undefined {
  const read = source.readQuantizedLayer as NonNullable<GpuWeightSource['readQuantizedLayer']>;
  const layers = group.map((spec) => {
    const { config, tensors } = read(spec.prefix);
    if (config.inFeatures !== spec.inFeatures || config.outFeatures !== spec.outFeatures || config.bias !== spec.bias) {
      throw new LlamaRuntimeError(
        'VPTQ_RUNTIME_BAD_WEIGHTS',
        `${fn}: ${source.path ?? 'model'}: quantized layer ${spec.prefix} is ${config.outFeatures} × ${config.inFeatures}${config.bias ? ' with bias' : ''}, but the config needs ${spec.outFeatures} × ${spec.inFeatures}${spec.bias ? ' with bias' : ''}`,
        { tensor: `${spec.prefix}.weight`, layer: spec.layer },
      );
    }
    return gain ? foldNormGain(config, tensors, gain) : { config, tensors };
  });
  if (layers.some(({ config }) => Math.max(config.vectorLength, config.outlierVectorLength) > maxVqGemvVectorLength)) return undefined;
  // The lanes kernel has no outlier part: such groups keep the rows layout (and the streaming kernel).
  const outliers = layers.some(({ config }) => config.outlierSize > 0);
  const uploaded = uploadVqLayers(device, layers, { label: group[0].prefix, indexLayout: outliers ? 'rows' : indexLayout });
  return uploaded.map((layer, index) => ({
    kind: 'vq',
    inFeatures: group[index].inFeatures,
    outFeatures: group[index].outFeatures,
    layer,
    byteLength: layer.byteLength,
    // The group's buffers are freed once, through the model (see the caller).
    destroy() {},
  }));
}
