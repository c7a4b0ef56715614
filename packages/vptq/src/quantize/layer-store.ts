import { dequantizeVptqLayer, parseVptqLayerConfig, readVptqLayerTensors } from '@vptq/pack-format';
import { decodeTensorF32 } from '@vptq/pack-format/safetensors';
import type { SafetensorsTensorInput } from '@vptq/pack-format/safetensors';
import type { VptqKmeansRun, VptqProxyError } from '@vptq/codebook';

/** What one finished decoder layer left in the job directory. */
export interface LayerCheckpoint {
  /** Every tensor of the layer's projections, with their final names. */
  readonly tensors: SafetensorsTensorInput[];
  /** Per-projection summary (config, proxy error, bits), as written in the layer's metadata. */
  readonly summary: LayerSummary;
}

/** Per-projection facts recorded with a finished layer. */
export interface LayerSummary {
  readonly projections: readonly ProjectionSummary[];
  /**
   * Wall-clock seconds of the layer's phases up to its checkpoint (`calibrate`, `prepare`, `quantize`), for the
   * quantization report of a run that resumes it.
   */
  readonly seconds?: Readonly<Record<string, number>>;
}

/** One quantized projection, as reported. */
export interface ProjectionSummary {
  /** Module name, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly name: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Normalized proxy error tr(ΔW H ΔWᵀ)/tr(W H Wᵀ) of the final weight. */
  readonly proxyError: number;
  /**
   * VPTQ only: the proxy error at each stage of the quantizer (`VptqProxyError` of `@vptq/codebook`: k-means
   * assignment, first loop, final loop before refinement, each refinement round), for reports and for choosing the
   * refinement rounds.
   */
  readonly proxyErrorStages?: VptqProxyError;
  /** VPTQ only: every k-means run of the quantizer (`VptqKmeansRun` of `@vptq/codebook`), for reports. */
  readonly kmeans?: readonly VptqKmeansRun[];
  /** Index bits per weight (codes only). */
  readonly indexBits: number;
  /** All stored bits of the projection (codes, codebooks, norm, perm, padding) per weight. */
  readonly totalBits: number;
  /** The packed `quantization_config` entry (VPTQ only), snake_case JSON. */
  readonly layerConfig?: unknown;
}

/**
 * Where the layer loop keeps finished layers: a job directory on disk (`directoryLayerStore`, which makes a run
 * resumable) or memory ({@link memoryLayerStore}, for `quantizeModel` in browsers and workers).
 */
export interface LayerStore {
  /** Where the layers are kept, for messages (`layers 0–2 are kept in …`). */
  readonly where: string;
  /** Whether layer `layer` was finished (a stored layer is complete). */
  has(layer: number): boolean;
  read(layer: number): LayerCheckpoint | undefined;
  write(layer: number, checkpoint: LayerCheckpoint): void;
}

/** A {@link LayerStore} in memory. */
export function memoryLayerStore(): LayerStore {
  const layers = new Map<number, LayerCheckpoint>();
  return {
    where: 'memory',
    has: (layer) => layers.has(layer),
    read: (layer) => layers.get(layer),
    write: (layer, checkpoint) => void layers.set(layer, checkpoint),
  };
}

/**
 * The weights a finished layer's projections compute with, by tensor name (`<prefix>.weight`, `[out, in]` f32):
 * packed VPTQ layers dequantized as the loader dequantizes them, baseline weights as stored. A resumed run
 * replays the layer through them when the calibration stream advances through quantized layers.
 */
export function readCheckpointWeights(checkpoint: LayerCheckpoint): Map<string, Float32Array> {
  const byName = new Map(checkpoint.tensors.map((tensor) => [tensor.name, tensor]));
  const lookup = (name: string) => {
    const tensor = byName.get(name);
    return tensor && { dtype: tensor.dtype, shape: tensor.shape, data: tensor.data as Uint8Array };
  };
  const weights = new Map<string, Float32Array>();
  for (const projection of checkpoint.summary.projections) {
    const name = `${projection.name}.weight`;
    if (projection.layerConfig === undefined) {
      const stored = lookup(name);
      if (!stored) throw new Error(`quantize: checkpoint tensor ${name} is missing`);
      weights.set(name, decodeTensorF32(stored.data, stored.dtype, name));
      continue;
    }
    const config = parseVptqLayerConfig(projection.layerConfig, projection.name);
    weights.set(name, dequantizeVptqLayer({ config, tensors: readVptqLayerTensors(projection.name, config, lookup, 'checkpoint') }));
  }
  return weights;
}
