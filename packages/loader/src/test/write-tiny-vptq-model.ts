import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeVptqLayerTensors, floatTensorFromF32, packIndices, parseVptqLayerConfig } from '@vptq/pack-format';
import { encodeSafetensors } from '@vptq/pack-format/safetensors';
import type { FloatTensor, VptqLayerTensors } from '@vptq/pack-format';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import { randomPermutation } from '@vptq/kmeans';
import { createTestRng, randomFloats } from '@vptq/test-utils';

import { listLinearSpecs } from '../decoder-linears';
import type { LlamaConfig } from '../model-types';
import { bf16ToNumber, f16ToNumber } from './write-tiny-hf-model';

/** How the fixture keys its layer configs in config.json. */
export type TinyVptqConfigStyle = 'shared' | 'per-layer' | 'mixed' | 'legacy' | 'text-config';

/** Options of {@link writeTinyVptqModel} (test-only). */
export interface TinyVptqModelOptions {
  readonly architecture?: 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM';
  /**
   * `shared`: `shared_layer_config` by short name; `per-layer`: `config_for_layers` by full name; `mixed`: shared,
   * plus a `config_for_layers` override (no outliers, K 8, one group) for `model.layers.1.mlp.gate_proj`;
   * `legacy`: top-level flat `quant_config`; `text-config`: `text_config.quantization_config`. Default `shared`.
   */
  readonly style?: TinyVptqConfigStyle;
  /** dtype of codebooks, norm, biases and plain tensors (default F16). */
  readonly floatDtype?: 'F16' | 'BF16' | 'F32';
  /** `perm` storage: I16 (packed layout) or the legacy I64 (default I16). */
  readonly permDtype?: 'I16' | 'I64';
  /**
   * The layer-config JSON of a module `[out, in]` (`layer` is -1 for shared configs); undefined leaves it
   * unquantized. Default {@link fullLayerConfig}.
   */
  readonly layerConfig?: (module: string, outFeatures: number, inFeatures: number, layer: number) => Record<string, unknown> | undefined;
  /** Modules stored as plain weights even though a layer config covers them. */
  readonly storePlain?: (module: string) => boolean;
  /** Rewrites the safetensors entries before they are encoded (drop, retype or corrupt tensors). */
  readonly editEntries?: (entries: SafetensorsTensorInput[]) => SafetensorsTensorInput[];
  /** config.json fields to override (applied last). */
  readonly config?: Record<string, unknown>;
  readonly shards?: number;
  readonly seed?: number;
}

/** Everything the fixture wrote for one quantized layer, with float values exactly as stored. */
export interface TinyVptqLayer {
  readonly module: string;
  /** The layer config JSON as written. */
  readonly json: Record<string, unknown>;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** `[G·K·v]`, `[G·Kr·v]`, `[Ko·vo]` f32 values of the stored codebooks. */
  readonly centroids: Float32Array;
  readonly residualCentroids?: Float32Array;
  readonly outlierCentroids?: Float32Array;
  /** `[G, R, S]` main and residual indices before packing. */
  readonly main: Uint32Array;
  readonly residual?: Uint32Array;
  /** `[Ro, O]` outlier indices. */
  readonly outlierIndices?: Uint16Array;
  readonly perm?: Uint16Array;
  readonly weightScale?: Float32Array;
  readonly weightBias?: Float32Array;
  readonly bias?: Float32Array;
}

/** A written tiny VPTQ model. */
export interface TinyVptqModel {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  /** Quantized layers by module name. */
  readonly layers: ReadonlyMap<string, TinyVptqLayer>;
  /** Plain tensors (embeddings, norms, lm_head, unquantized projections, biases) with their exact f32 values. */
  readonly plain: ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: Float32Array }>;
}

/** Shapes of the tiny architecture: hidden 16, 2 heads of 8, 1 KV head, FFN 24, 2 layers, vocab 12. */
export const tinyVptqDims = { hidden: 16, heads: 2, kvHeads: 1, headDim: 8, intermediate: 24, layers: 2, vocab: 12 } as const;

/**
 * A layer config with everything on: outliers (vo 5, Ko 4, O 4), two groups, residual (K 16, Kr 4, tb 6),
 * norm and perm, v 3 so that `out % v ≠ 0` for 16- and 8-row projections, and unknown extra keys.
 */
export function fullLayerConfig(outFeatures: number, inFeatures: number): Record<string, unknown> {
  const outlierSize = 4;
  return {
    in_features: inFeatures,
    out_features: outFeatures,
    vector_lens: [5, 3],
    num_centroids: [4, 16],
    num_res_centroids: [-1, 4],
    group_num: 2,
    group_size: (inFeatures - outlierSize) / 2,
    outlier_size: outlierSize,
    enable_norm: true,
    enable_perm: true,
    is_indice_packed: true,
    indices_as_float: false,
    bias: false,
    norm_dim: 0,
    enable_proxy_error: false,
  };
}

/**
 * Writes a tiny VPTQ packed model directory from seeded random data with `@vptq/pack-format`'s encoders
 * (packIndices, encodeVptqLayerTensors, encodeSafetensors). Float values are rounded to their storage dtype
 * first, so the returned values are exactly what is stored.
 */
export function writeTinyVptqModel(dir: string, options: TinyVptqModelOptions = {}): TinyVptqModel {
  const architecture = options.architecture ?? 'LlamaForCausalLM';
  const qwen = architecture === 'Qwen2ForCausalLM';
  const style = options.style ?? 'shared';
  const floatDtype = options.floatDtype ?? 'F16';
  const layerConfigOf = options.layerConfig ?? ((_module: string, out: number, inFeatures: number) => fullLayerConfig(out, inFeatures));
  const seed = options.seed ?? 1;
  const next = createTestRng(seed);
  let stream = seed * 7919;
  const floats = (count: number, scale: number): Float32Array => randomFloats(count, stream++, scale);
  const { hidden, heads, kvHeads, headDim, intermediate, layers: layerCount, vocab } = tinyVptqDims;

  const entries: SafetensorsTensorInput[] = [];
  const plain = new Map<string, { shape: number[]; values: Float32Array }>();
  const stored = (values: Float32Array): { tensor: FloatTensor; values: Float32Array } => {
    const tensor = floatTensorFromF32(values, floatDtype);
    const widened =
      tensor.dtype === 'F32' ? tensor.data.slice() : Float32Array.from(tensor.data, tensor.dtype === 'F16' ? f16ToNumber : bf16ToNumber);
    return { tensor, values: widened };
  };
  const addPlain = (name: string, shape: number[], scale = 0.5): void => {
    const { tensor, values } = stored(floats(shape.reduce((a, b) => a * b, 1), scale));
    plain.set(name, { shape, values });
    entries.push({ name, dtype: floatDtype, shape, data: tensor.data });
  };

  // The projections and their biases as the loader expects them of this architecture (q/k/v biases for Qwen2
  // or attention_bias, o_proj's too for attention_bias outside Qwen2).
  const specs = listLinearSpecs({
    modelType: qwen ? 'qwen2' : architecture === 'MistralForCausalLM' ? 'mistral' : 'llama',
    hiddenSize: hidden,
    intermediateSize: intermediate,
    numHiddenLayers: layerCount,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    vocabSize: vocab,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    ropeLayout: 'half',
    tieWordEmbeddings: false,
    attentionBias: qwen || options.config?.attention_bias === true,
  } satisfies LlamaConfig);
  const configForLayers: Record<string, Record<string, unknown>> = {};
  const shared: Record<string, Record<string, unknown>> = {};
  const layers = new Map<string, TinyVptqLayer>();
  addPlain('model.embed_tokens.weight', [vocab, hidden]);
  for (let layer = 0; layer < layerCount; layer++) {
    const prefix = `model.layers.${layer}`;
    addPlain(`${prefix}.input_layernorm.weight`, [hidden]);
    addPlain(`${prefix}.post_attention_layernorm.weight`, [hidden]);
    for (const spec of specs.filter((candidate) => candidate.layer === layer)) {
      const { prefix: module, name: short, outFeatures: out, inFeatures, bias: hasBias } = spec;
      let json = layerConfigOf(module, out, inFeatures, style === 'shared' || style === 'mixed' ? -1 : layer);
      if (json !== undefined) {
        json = hasBias ? { ...json, bias: true } : json;
        if (style === 'shared' || style === 'mixed') {
          shared[short] ??= json;
          json = shared[short];
          if (style === 'mixed' && module === 'model.layers.1.mlp.gate_proj') {
            json = { ...fullLayerConfig(out, inFeatures), vector_lens: [-1, 3], num_centroids: [-1, 8], group_num: 1, group_size: inFeatures, outlier_size: 0 };
            configForLayers[module] = json;
          }
        } else {
          configForLayers[module] = json;
        }
      }
      if (json === undefined || options.storePlain?.(module)) {
        addPlain(`${module}.weight`, [out, inFeatures]);
        if (hasBias) addPlain(`${module}.bias`, [out]);
        continue;
      }
      const written = writeLayer(module, json, hasBias, next, floats, stored, options.permDtype ?? 'I16');
      layers.set(module, written.layer);
      entries.push(...written.entries);
      if (written.layer.bias) plain.set(`${module}.bias`, { shape: [out], values: written.layer.bias });
    }
  }
  addPlain('model.norm.weight', [hidden]);
  addPlain('lm_head.weight', [vocab, hidden]);

  const quantization = { quant_method: 'vptq', config_for_layers: configForLayers, shared_layer_config: shared };
  const config: Record<string, unknown> = {
    architectures: [architecture],
    model_type: qwen ? 'qwen2' : architecture === 'MistralForCausalLM' ? 'mistral' : 'llama',
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layerCount,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocab,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    torch_dtype: floatDtype === 'BF16' ? 'bfloat16' : floatDtype === 'F16' ? 'float16' : 'float32',
    ...(style === 'legacy' ? { quant_config: configForLayers } : style === 'text-config' ? { text_config: { quantization_config: quantization } } : { quantization_config: quantization }),
    ...options.config,
  };

  const final = options.editEntries ? options.editEntries(entries) : entries;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const shards = options.shards ?? 1;
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat(encodeSafetensors(final, { format: 'pt' })));
  } else {
    const weightMap: Record<string, string> = {};
    for (let shard = 0; shard < shards; shard++) {
      const file = `model-${String(shard + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = final.filter((_, index) => index % shards === shard);
      for (const entry of part) weightMap[entry.name] = file;
      writeFileSync(join(dir, file), Buffer.concat(encodeSafetensors(part, { format: 'pt' })));
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return { dir, config, layers, plain };
}

function writeLayer(
  module: string,
  json: Record<string, unknown>,
  hasBias: boolean,
  next: () => number,
  floats: (count: number, scale: number) => Float32Array,
  stored: (values: Float32Array) => { tensor: FloatTensor; values: Float32Array },
  permDtype: 'I16' | 'I64',
): { layer: TinyVptqLayer; entries: SafetensorsTensorInput[] } {
  // The architecture decides whether a bias is stored, whatever the JSON says (tests write odd `bias` values).
  const config = { ...parseVptqLayerConfig(json, module), bias: hasBias };
  const pick = (count: number): number => Math.floor(next() * count);
  const v = config.vectorLength;
  const K = config.numCentroids;
  const Kr = config.numResidualCentroids;
  const G = config.groupNum;
  const S = config.groupSize;
  const O = config.outlierSize;
  const out = config.outFeatures;
  const inFeatures = config.inFeatures;
  const R = Math.ceil(out / v);
  const hasOutliers = config.numOutlierCentroids > 0;
  const vo = config.outlierVectorLength;
  const Ko = config.numOutlierCentroids;

  const centroids = stored(floats(G * K * v, 1));
  const main = Uint32Array.from({ length: G * R * S }, () => pick(K));
  const residual = Kr > 0 ? Uint32Array.from({ length: G * R * S }, () => pick(Kr)) : undefined;
  const residualCentroids = Kr > 0 ? stored(floats(G * Kr * v, 0.25)) : undefined;
  const outlierCentroids = hasOutliers ? stored(floats(Ko * vo, 1.5)) : undefined;
  const outlierIndices = hasOutliers ? Uint16Array.from({ length: Math.ceil(out / vo) * O }, () => pick(Ko)) : undefined;
  let perm: Uint16Array | undefined;
  if (config.enablePerm) {
    perm = Uint16Array.from(randomPermutation(inFeatures, next));
  }
  const weightScale = config.enableNorm ? stored(Float32Array.from(floats(inFeatures, 1), (x) => 0.5 + Math.abs(x))) : undefined;
  const weightBias = config.enableNorm ? stored(floats(inFeatures, 0.1)) : undefined;
  const bias = hasBias ? stored(floats(out, 0.3)) : undefined;

  const indexBits = Math.log2(K);
  const tensors: VptqLayerTensors = {
    centroids: centroids.tensor,
    indices: packIndices({ main, residual, groupNum: G, vectorRows: R, groupSize: S, indexBits, residualBits: Kr > 0 ? Math.log2(Kr) : 0 }),
    ...(residualCentroids ? { residualCentroids: residualCentroids.tensor } : {}),
    ...(outlierCentroids ? { outlierCentroids: outlierCentroids.tensor, outlierIndices } : {}),
    ...(perm ? { perm } : {}),
    ...(weightScale && weightBias ? { weightScale: weightScale.tensor, weightBias: weightBias.tensor } : {}),
    ...(bias ? { bias: bias.tensor } : {}),
  };
  const entries = encodeVptqLayerTensors(module, config, tensors).map((entry) =>
    entry.name === `${module}.perm` && permDtype === 'I64' ? { ...entry, dtype: 'I64' as const, data: BigInt64Array.from(perm as Uint16Array, BigInt) } : entry,
  );
  return {
    layer: {
      module,
      json,
      outFeatures: out,
      inFeatures,
      centroids: centroids.values,
      residualCentroids: residualCentroids?.values,
      outlierCentroids: outlierCentroids?.values,
      main,
      residual,
      outlierIndices,
      perm,
      weightScale: weightScale?.values,
      weightBias: weightBias?.values,
      bias: bias?.values,
    },
    entries,
  };
}
