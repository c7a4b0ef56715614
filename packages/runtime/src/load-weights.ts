import { listLinearSpecs } from '@vptq/loader';
import type { LinearName, LinearSpec, ModelSource } from '@vptq/loader';

import { createDenseLinear } from './dense-linear';
import type { DenseLinear } from './dense-linear';
import type { Linear } from './linear';
import type { LlamaLayerWeights, LlamaWeights } from './llama-weights';
import { LlamaRuntimeError } from './runtime-error';
import { validateConfig } from './validate-config';

/**
 * Where {@link loadWeights} reads from: a `ModelSource` from @vptq/loader, or any object with a config and a
 * `readTensor` that returns f32 tensors by Hugging Face name (see `ModelSource` for the names).
 */
export type WeightSource = Pick<ModelSource, 'config' | 'readTensor'> & { readonly path?: string };

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /**
   * Builds each decoder projection; return a quantized or otherwise custom {@link Linear} of
   * `spec.outFeatures × spec.inFeatures`. Default {@link readDenseLinear} (`<prefix>.weight`, plus
   * `<prefix>.bias` when `spec.bias`).
   */
  readonly createLinear?: (spec: LinearSpec, source: WeightSource) => Linear;
}

/**
 * Reads a model's weights one tensor at a time into a {@link LlamaWeights}: embeddings and norms as f32,
 * every projection through `options.createLinear`, and the classifier from `lm_head.weight` or, when
 * `config.tieWordEmbeddings`, sharing the embedding matrix.
 *
 * It reads synchronously: a `ModelSource` opened from a URL or a `Blob` must have prefetched every tensor first
 * (`await source.prefetch(source.tensors.map((tensor) => tensor.name))`; `loadCpu` of `vptq` does).
 *
 * @param source - A `ModelSource` (or `{ config, readTensor }`); not closed here.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS naming the tensor when a tensor or a created linear
 * does not have the shape the config promises. Loader errors (missing tensor, truncated file) pass through.
 * @throws {RangeError} if the config is not a runnable decoder (odd headDim, kv heads not dividing heads, …).
 */
export function loadWeights(source: WeightSource, options: LoadWeightsOptions = {}): LlamaWeights {
  const config = source.config;
  validateConfig('loadWeights', config);
  const createLinear = options.createLinear ?? readDenseLinear;
  const hidden = config.hiddenSize;
  const read = (name: string, expected: number): Float32Array => readChecked(source, name, expected);

  const embedTokens = read('model.embed_tokens.weight', config.vocabSize * hidden);
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) layers.push(readLayer(source, layer, createLinear, 'loadWeights'));
  const norm = read('model.norm.weight', hidden);
  const classifier = config.tieWordEmbeddings ? embedTokens : read('lm_head.weight', config.vocabSize * hidden);
  const lmHead = createDenseLinear(classifier, { outFeatures: config.vocabSize, inFeatures: hidden });
  return { config, embedTokens, layers, norm, lmHead };
}

/**
 * Reads one decoder layer's weights (its two norm gains and seven projections), as {@link loadWeights} reads
 * every layer: what a layer-by-layer pass holds at a time. On a source read through `fetch` or a `Blob`, prefetch
 * `listLayerTensorNames(config, layer)` (@vptq/loader) first.
 *
 * @param layer - 0-based decoder layer index.
 * @throws {RangeError} if the config is not runnable or `layer` is not one of its layers.
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS as {@link loadWeights}.
 */
export function loadLayerWeights(source: WeightSource, layer: number, options: LoadWeightsOptions = {}): LlamaLayerWeights {
  validateConfig('loadLayerWeights', source.config);
  if (!Number.isInteger(layer) || layer < 0 || layer >= source.config.numHiddenLayers) {
    throw new RangeError(`loadLayerWeights: layer must be an integer in [0, ${source.config.numHiddenLayers}) (got ${layer})`);
  }
  return readLayer(source, layer, options.createLinear ?? readDenseLinear, 'loadLayerWeights');
}

function readLayer(source: WeightSource, layer: number, createLinear: NonNullable<LoadWeightsOptions['createLinear']>, fn: string): LlamaLayerWeights {
  const hidden = source.config.hiddenSize;
  const linears = {} as Record<LinearName, Linear>;
  for (const spec of listLinearSpecs(source.config).filter((candidate) => candidate.layer === layer)) {
    const linear = createLinear(spec, source);
    checkLinear(spec, linear, fn);
    linears[spec.name] = linear;
  }
  return {
    inputNorm: readChecked(source, `model.layers.${layer}.input_layernorm.weight`, hidden, fn),
    postAttentionNorm: readChecked(source, `model.layers.${layer}.post_attention_layernorm.weight`, hidden, fn),
    linears,
  };
}

/**
 * The default projection factory of {@link loadWeights}: reads `<prefix>.weight` (and `<prefix>.bias` when
 * `spec.bias`) as f32 and wraps them with `createDenseLinear`.
 *
 * @throws {LlamaRuntimeError} VPTQ_RUNTIME_BAD_WEIGHTS when a tensor has the wrong number of elements.
 */
export function readDenseLinear(spec: LinearSpec, source: WeightSource): DenseLinear {
  const weight = readChecked(source, `${spec.prefix}.weight`, spec.outFeatures * spec.inFeatures);
  const bias = spec.bias ? readChecked(source, `${spec.prefix}.bias`, spec.outFeatures) : undefined;
  return createDenseLinear(weight, { outFeatures: spec.outFeatures, inFeatures: spec.inFeatures, bias });
}

/** Reads `name` as f32 and checks its length; `fn` names the caller in the error. */
export function readChecked(source: WeightSource, name: string, expected: number, fn = 'loadWeights'): Float32Array {
  const values = source.readTensor(name);
  if (!(values instanceof Float32Array) || values.length !== expected) {
    const got = values instanceof Float32Array ? `${values.length} f32 values` : String(values);
    throw new LlamaRuntimeError(
      'VPTQ_RUNTIME_BAD_WEIGHTS',
      `${fn}: ${source.path ?? 'model'}: tensor ${name} must hold ${expected} f32 values for this config (got ${got})`,
      { tensor: name },
    );
  }
  return values;
}

function checkLinear(spec: LinearSpec, linear: Linear, fn: string): void {
  if (
    typeof linear !== 'object' ||
    linear === null ||
    typeof linear.forward !== 'function' ||
    linear.inFeatures !== spec.inFeatures ||
    linear.outFeatures !== spec.outFeatures
  ) {
    const got = typeof linear?.forward === 'function' ? `${linear.outFeatures} × ${linear.inFeatures}` : String(linear);
    throw new LlamaRuntimeError(
      'VPTQ_RUNTIME_BAD_WEIGHTS',
      `${fn}: createLinear must return a Linear of ${spec.outFeatures} × ${spec.inFeatures} for ${spec.prefix} (got ${got})`,
      { tensor: `${spec.prefix}.weight`, layer: spec.layer },
    );
  }
}
