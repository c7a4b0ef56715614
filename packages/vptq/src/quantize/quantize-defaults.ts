import type { QuantizeOptions } from './quantize-options';

/** The settings of {@link QuantizeOptions} that have a default. */
export type QuantizeSettings = Required<Omit<QuantizeOptions, 'model' | 'tokenizer' | 'calibration' | 'out' | 'overwrite' | 'onEvent' | 'gpuDevice'>>;

/**
 * The one table of `quantize`'s defaults: the library fills in left-out options from it, the CLI's flags show
 * it in `--help`, and a test holds the README's option table to it.
 *
 * v8-k256-r256 is 2 index bits per weight (8 + 8 bits per 8 weights) with two 256-entry codebooks: the best
 * 2-bit setting measured on the fixtures (BENCHMARKS.md, stories260K 4.784 = 1.34× fp32), and codebooks small
 * enough to stay on-chip in the GPU kernels.
 *
 * Refinement stops once two rounds together lowered a projection's proxy error by less than 1% of it (at most 16
 * rounds): on stories260K that keeps perplexity within 1.1% of all 16 rounds with half the rounds, and on the
 * 7B-shaped synthetic layers it runs 2 rounds (v6-k4096, 4096²) to 7 (v8-k65536-r256, 14336×4096) instead of 16
 * (BENCHMARKS.md, "Refinement rounds").
 */
export const quantizeDefaults: QuantizeSettings = Object.freeze({
  method: 'vptq',
  bits: 2,
  vectorLength: 8,
  numCentroids: 256,
  numResidualCentroids: 256,
  outlierPercent: 0,
  outlierVectorLength: 4,
  numOutlierCentroids: 256,
  groupNum: 1,
  enableNorm: true,
  enablePerm: true,
  kmeansIterations: 100,
  refineIterations: 16,
  refineTolerance: 0.01,
  calibrationTokens: 65536,
  calibrationWindow: 4096,
  advanceThrough: 'original',
  dtype: 'F16',
  damp: 0.01,
  seed: 0,
  allowReferenceMisreads: false,
  device: 'auto',
  projectionsInFlight: 'auto',
});
