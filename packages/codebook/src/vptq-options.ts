import type { FloatTensorDtype } from '@vptq/pack-format';

import type { VptqLayoutOptions } from './plan-vptq-layer';
import { assertBoolean, assertInteger } from './validate';

/** The stage a {@link VptqOptions.onProgress} report belongs to, in the order they run. */
export type VptqPhase = 'kmeans' | 'column-loop' | 'residual-kmeans' | 'column-loop-2' | 'refine';

/** Options of `quantizeVptqLayer`: the layout (see `planVptqLayer`) plus how to run it. */
export interface VptqOptions extends VptqLayoutOptions {
  /**
   * With `enableNorm`, optimize the error in original weight units, `ΔW'·D·H·D·ΔW'ᵀ` with D = diag(scale): k-means
   * sample weights `scale_c²·H_cc` and the column loop with the factor `U·D⁻¹` of (DHD)⁻¹. The reference uses
   * the unscaled H on the normalized weight, which weighs every column's error as if its range were 1.
   * Default true; false reproduces the reference. No effect without `enableNorm`.
   */
  readonly scaleAwareObjective?: boolean;
  /**
   * Precision the packed model will store codebooks, `weightScale` and `weightBias` in. They are rounded to it
   * (ties to even) before the column loop uses them, so the error feedback sees the stored values and
   * `dequantizeVptqLayer` equals what a reader of the packed model rebuilds. Default `'F32'` (no rounding).
   */
  readonly storageDtype?: FloatTensorDtype;
  /** Lloyd iterations per k-means, ≥ 1. Default 100 (reference `kiter`). */
  readonly kmeansIterations?: number;
  /** Relative change of the k-means objective that stops it early, ≥ 0. Default 1e-5 (reference `ktol`). */
  readonly kmeansTolerance?: number;
  /**
   * k-means initialization. `'auto'` (default): k-means++ where it costs at most 2³¹
   * multiply-adds (count·k·dim, about two seconds of JavaScript; every layer of the fixtures), random (the
   * reference's, cuML's `'random'`) beyond, where k-means++'s k passes would take minutes to hours.
   */
  readonly kmeansInit?: 'random' | 'kmeans++' | 'auto';
  /**
   * Rounds of closed-form codebook refinement after the column loop(s), ≥ 0: with the indices fixed, refit every
   * codebook by exact least squares on the output error in original units (`tr(ΔW·H·ΔWᵀ)`), round it to
   * `storageDtype`, then run the final column loop again with the refit codebooks (new indices, error feedback).
   * The result with the lowest proxy error is kept, so refinement never makes a layer worse; it stops early
   * once a round no longer lowers the error. 0 turns it off (the reference has no such step; the paper's
   * layer-wise fine-tuning of centroids, spec §4.6, was never released). Default 16.
   */
  readonly refineIterations?: number;
  /**
   * Refinement also stops once two rounds together lowered the best proxy error by less than this fraction of it,
   * in [0, 1). Most of refinement's gain comes in its first rounds (BENCHMARKS.md); this spends rounds only where
   * they still pay. Default 0: every round runs (unless the indices repeat).
   */
  readonly refineTolerance?: number;
  /** Columns per lazy-update block of the column loop, ≥ 1. Default 128. */
  readonly blockSize?: number;
  /** Seed of every k-means (each one derives its own stream from it), a u32. Default 0. */
  readonly seed?: number;
  /**
   * Progress: `fraction` in [0, 1] of `phase`. Each phase starts with 0 and ends with 1, in {@link VptqPhase}
   * order; the residual phases run only with a residual codebook, `'refine'` only with `refineIterations` > 0.
   * k-means phases report every iteration.
   */
  readonly onProgress?: (phase: VptqPhase, fraction: number) => void;
}

/** {@link VptqOptions} without the layout, validated and with defaults filled in. */
export interface VptqSettings {
  readonly scaleAwareObjective: boolean;
  readonly storageDtype: FloatTensorDtype;
  readonly kmeansIterations: number;
  readonly kmeansTolerance: number;
  readonly kmeansInit: 'random' | 'kmeans++' | 'auto';
  readonly blockSize: number;
  readonly refineIterations: number;
  readonly refineTolerance: number;
  readonly seed: number;
  readonly onProgress: ((phase: VptqPhase, fraction: number) => void) | undefined;
}

/** Refinement rounds unless `refineIterations` says otherwise. */
export const defaultRefineIterations = 16;

/** Validates the run options of `fn` and fills in the defaults. */
export function readVptqSettings(fn: string, options: VptqOptions): VptqSettings {
  const kmeansTolerance = options.kmeansTolerance ?? 1e-5;
  if (typeof kmeansTolerance !== 'number' || !(kmeansTolerance >= 0 && Number.isFinite(kmeansTolerance))) {
    throw new RangeError(`${fn}: kmeansTolerance must be a finite number ≥ 0 (got ${String(kmeansTolerance)})`);
  }
  const kmeansInit = options.kmeansInit ?? 'auto';
  if (kmeansInit !== 'random' && kmeansInit !== 'kmeans++' && kmeansInit !== 'auto') {
    throw new RangeError(`${fn}: kmeansInit must be 'random', 'kmeans++' or 'auto' (got ${String(kmeansInit)})`);
  }
  const storageDtype = options.storageDtype ?? 'F32';
  if (storageDtype !== 'F32' && storageDtype !== 'F16' && storageDtype !== 'BF16') {
    throw new RangeError(`${fn}: storageDtype must be 'F32', 'F16' or 'BF16' (got ${String(storageDtype)})`);
  }
  const refineTolerance = options.refineTolerance ?? 0;
  if (typeof refineTolerance !== 'number' || !(refineTolerance >= 0 && refineTolerance < 1)) {
    throw new RangeError(`${fn}: refineTolerance must be a number in [0, 1) (got ${String(refineTolerance)})`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`${fn}: onProgress must be a function (got ${typeof options.onProgress})`);
  }
  return {
    scaleAwareObjective: assertBoolean(fn, 'scaleAwareObjective', options.scaleAwareObjective ?? true),
    storageDtype,
    kmeansIterations: assertInteger(fn, 'kmeansIterations', options.kmeansIterations ?? 100, 1),
    kmeansTolerance,
    kmeansInit,
    blockSize: assertInteger(fn, 'blockSize', options.blockSize ?? 128, 1),
    refineIterations: assertInteger(fn, 'refineIterations', options.refineIterations ?? defaultRefineIterations, 0, 1000),
    refineTolerance,
    seed: assertInteger(fn, 'seed', options.seed ?? 0, 0, 0xffffffff),
    onProgress: options.onProgress,
  };
}
