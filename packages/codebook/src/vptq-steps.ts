import { clusterPart, clusterPartAsync } from './cluster-part';
import type { AsyncKmeansEngineFactory } from '@vptq/kmeans/engine';
import type { ClusterRequest } from './cluster-part';
import type { VptqPassLayer, VptqPassRequest, VptqPassResult } from './vptq-pass-engine';
import type { VptqSettings } from './vptq-options';
import type { VptqPart } from './vptq-parts';
import type { VptqRefitLayer, VptqRefitRequest, VptqRefitResult } from './vptq-refit-engine';

/**
 * The operations of the quantizer that may run elsewhere (the column loop's engine, a k-means engine, the codebook
 * refit's engine). The algorithm is
 * written once, as a generator that yields these steps and receives their results; a synchronous driver
 * (`quantizeVptqLayer`) and an asynchronous one (`quantizeVptqLayerAsync`) perform them. That keeps one copy of
 * the algorithm for the CPU and the GPU (DESIGN.md), where an `async` algorithm could not serve the synchronous
 * quantizer.
 */
export type VptqStep =
  | { readonly kind: 'open'; readonly layer: VptqPassLayer }
  | { readonly kind: 'cluster'; readonly cluster: ClusterArguments }
  | { readonly kind: 'pass'; readonly request: VptqPassRequest }
  | { readonly kind: 'measure'; readonly quantized: Float32Array }
  | { readonly kind: 'refit'; readonly layer: VptqRefitLayer; readonly request: VptqRefitRequest };

/** A computation made of {@link VptqStep}s that returns `T`. */
export type VptqSteps<T> = Generator<VptqStep, T, unknown>;

/** The arguments of `clusterPart`, one k-means over a part's vectors. */
export interface ClusterArguments {
  readonly source: Float32Array;
  readonly rows: number;
  readonly part: VptqPart;
  readonly sampleWeights: Float64Array;
  readonly settings: VptqSettings;
  readonly request: ClusterRequest;
}

/** What a `cluster` step returns. */
export type ClusterResult = ReturnType<typeof clusterPart>;

/** Opens the engine session every later `pass` and `measure` step of the layer runs in. */
export function* openLayerStep(layer: VptqPassLayer): VptqSteps<void> {
  yield { kind: 'open', layer };
}

/** One k-means over a part (on the CPU in both drivers for now; the async driver is where an async one plugs in). */
export function* clusterStep(cluster: ClusterArguments): VptqSteps<ClusterResult> {
  return (yield { kind: 'cluster', cluster }) as ClusterResult;
}

/** One column loop in the open session. */
export function* passStep(request: VptqPassRequest): VptqSteps<VptqPassResult> {
  return (yield { kind: 'pass', request }) as VptqPassResult;
}

/** The proxy error of a `[in, out]` normalized weight in quantization order, in the open session. */
export function* measureStep(quantized: Float32Array): VptqSteps<number> {
  return (yield { kind: 'measure', quantized }) as number;
}

/**
 * One closed-form codebook refit. Every refit step of a layer carries the same `layer` object, so a driver opens
 * one refit session for it (at its first refit step) and reuses it for the later ones.
 */
export function* refitStep(layer: VptqRefitLayer, request: VptqRefitRequest): VptqSteps<VptqRefitResult | undefined> {
  return (yield { kind: 'refit', layer, request }) as VptqRefitResult | undefined;
}

/** Runs `clusterPart` for a `cluster` step. */
export function performCluster({ source, rows, part, sampleWeights, settings, request }: ClusterArguments): ClusterResult {
  return clusterPart(source, rows, part, sampleWeights, settings, request);
}

/** Runs `clusterPartAsync` for a `cluster` step, its k-means on `engine`. */
export function performClusterAsync({ source, rows, part, sampleWeights, settings, request }: ClusterArguments, engine: AsyncKmeansEngineFactory): Promise<ClusterResult> {
  return clusterPartAsync(source, rows, part, sampleWeights, settings, request, engine);
}
